"""The authorization server's key-value store (`hosted/kv.py`) and the vault of each grant's platform tokens
(`hosted/vault.py`), against a real Redis and in memory, refreshing at a real sandbox: Fernet sealing and key
rotation, refreshes only when due, one refresh per grant however many replicas ask at once, a refused refresh
token ending the grant, an unreachable platform keeping it, no token in clear in Redis, and the store's atomic
operations (single-use `take`, compare-and-set `swap`, expiring counters and values) and its failure mode."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import pytest
import redis as redis_py
from cryptography.fernet import Fernet

from kyc_mcp.config import ConfigError, Settings
from kyc_mcp.errors import ErrorCode, KycError
from kyc_mcp.hosted.kv import KeyValue, MemoryKV, RedisKV, open_kv
from kyc_mcp.hosted.vault import PlatformTokens, TokenCipher, TokenVault
from kyc_mcp.signin.platform import REFRESH_PATH, Tokens
from kyc_mcp.upstream import Upstream
from tests.hosted.conftest import Redis
from tests.support.clients import Sandbox, User, log_mark, requests_since, running_sandbox
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio
GRANT_TTL = 3600.0


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def platform() -> Iterator[Sandbox]:
    """A sandbox of this module's own: its request log counts only this module's refreshes."""
    with running_sandbox(review_delay_seconds=-1) as sandbox:
        yield sandbox


@pytest.fixture
async def upstream(platform: Sandbox) -> AsyncIterator[Upstream]:
    async with Upstream(Settings(api_base_url=platform.url)) as client:
        yield client


@pytest.fixture
async def redis_kvs(redis: Redis) -> AsyncIterator[Callable[[int], list[RedisKV]]]:
    """`redis_kvs(n)`: `n` stores on the session's Redis (as `n` replicas), closed afterwards."""
    made: list[RedisKV] = []

    def make(n: int) -> list[RedisKV]:
        made.extend(RedisKV(redis.url) for _ in range(n))
        return made[-n:]

    yield make
    for kv in made:
        await kv.aclose()


@pytest.fixture(params=["memory", "redis"])
def replicas(request: pytest.FixtureRequest, redis_kvs: Callable[[int], list[RedisKV]]) -> list[KeyValue]:
    """Four stores sharing their values: four replicas on one Redis, or four tasks of one process's memory."""
    if request.param == "memory":
        memory = MemoryKV()
        return [memory] * 4
    return list(redis_kvs(4))


@pytest.fixture
def kv(replicas: list[KeyValue]) -> KeyValue:
    return replicas[0]


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([Fernet.generate_key().decode()])


def new_grant() -> str:
    return "grant-" + secrets.token_hex(8)


def tokens_of(user: User, access: str | None = None) -> PlatformTokens:
    return PlatformTokens.issued(Tokens(access or user.access_token, user.refresh_token), email=user.email)


def refreshes_since(platform: Sandbox, mark: int) -> list[object]:
    return [entry for entry in requests_since(platform, mark) if entry["path"] == REFRESH_PATH]


def works(platform: Sandbox, access: str) -> bool:
    return platform.client(access).get("/api/v1/profile").status_code == 200


# ---------------------------------------------------------------------------------------------- the cipher


def test_seal_then_open_gives_back_the_plain_bytes(cipher: TokenCipher) -> None:
    plain = b'{"access":"eyJ.secret.token"}'
    sealed = cipher.seal(plain)
    assert plain not in sealed and b"secret" not in sealed
    assert cipher.open(sealed) == plain
    assert cipher.seal(plain) != sealed  # a fresh IV each time
    assert cipher.open(b"not a sealed value") is None
    assert cipher.open(sealed[:-3] + b"AAA") is None  # tampered: refused


def test_an_old_key_still_opens_when_second_and_a_retired_one_opens_nothing() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_by_old = TokenCipher([old]).seal(b"tokens")
    rotating = TokenCipher([new, old])
    assert rotating.open(sealed_by_old) == b"tokens"
    assert TokenCipher([new]).open(sealed_by_old) is None  # the old key retired
    sealed_while_rotating = rotating.seal(b"new tokens")  # the first key encrypts
    assert TokenCipher([new]).open(sealed_while_rotating) == b"new tokens"
    assert TokenCipher([old]).open(sealed_while_rotating) is None


TRUNCATED_KEY = "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMDA"  # 43 characters: one short of a Fernet key


@pytest.mark.parametrize(
    "bad", ["not-a-fernet-key", TRUNCATED_KEY, "é" * 44, ""], ids=["word", "truncated", "non-ascii", "empty"]
)
def test_a_malformed_key_is_refused_with_how_to_make_one_and_never_echoed(bad: str) -> None:
    good = Fernet.generate_key().decode()
    with pytest.raises(ConfigError) as refused:
        TokenCipher([good, bad])
    message = str(refused.value)
    assert isinstance(refused.value, ValueError)
    assert "KYC_MCP_TOKEN_KEYS" in message and "key 2 of 2" in message
    assert "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" in message
    if bad:
        assert bad not in message
    assert good not in message


def test_the_cipher_from_settings_needs_the_keys_and_uses_every_one() -> None:
    with pytest.raises(ConfigError, match="KYC_MCP_TOKEN_KEYS"):
        TokenCipher.from_settings(Settings())
    with pytest.raises(ConfigError, match="KYC_MCP_TOKEN_KEYS"):
        TokenCipher.from_settings(Settings.from_env({"KYC_MCP_TOKEN_KEYS": " , "}))
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    cipher = TokenCipher.from_settings(Settings.from_env({"KYC_MCP_TOKEN_KEYS": f"{new}, {old}"}))
    assert cipher.open(TokenCipher([old]).seal(b"x")) == b"x"
    assert TokenCipher([new]).open(cipher.seal(b"y")) == b"y"


def test_platform_tokens_name_their_subject_and_expiry_and_print_no_token(platform: Sandbox) -> None:
    user = platform.new_user()
    tokens = tokens_of(user)
    assert tokens.subject == user.uuid and tokens.email == user.email
    assert tokens.expires_at is not None and abs(tokens.expires_at - (time.time() + 3600)) < 60
    assert user.access_token not in repr(tokens) and user.refresh_token not in repr(tokens)
    with pytest.raises(ValueError, match="sub"):
        PlatformTokens.issued(Tokens("opaque-token", None))
    assert PlatformTokens("opaque", None, None, "someone").expires_at is None


# ---------------------------------------------------------------------------------------------- the vault


async def test_saved_tokens_load_back_until_removed(kv: KeyValue, cipher: TokenCipher, platform: Sandbox) -> None:
    vault, grant, other = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant(), new_grant()
    tokens = tokens_of(platform.new_user())
    assert await vault.load(grant) is None
    await vault.save(grant, tokens)
    assert await vault.load(grant) == tokens
    assert await TokenVault(kv, TokenCipher([Fernet.generate_key().decode()]), ttl=GRANT_TTL).load(grant) is None
    sealed = await kv.get("vault:" + grant)
    assert sealed is not None
    await kv.put("vault:" + other, sealed)  # a sealed value moved to another grant's key is not that grant's
    assert await vault.load(other) is None
    await vault.remove(grant)
    assert await vault.load(grant) is None and await kv.get("vault:" + grant) is None


async def test_the_vault_value_expires_with_the_grant(kv: KeyValue, cipher: TokenCipher, platform: Sandbox) -> None:
    vault, grant = TokenVault(kv, cipher, ttl=0.3), new_grant()
    await vault.save(grant, tokens_of(platform.new_user()))
    assert await vault.load(grant) is not None
    await anyio.sleep(0.6)
    assert await vault.load(grant) is None


async def test_fresh_refreshes_only_when_the_access_token_is_near_expiry(
    kv: KeyValue, cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    vault, grant, user = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant(), platform.new_user()
    tokens = tokens_of(user)  # valid for an hour
    await vault.save(grant, tokens)
    mark = log_mark(platform)
    assert await vault.fresh(grant, upstream) == tokens
    assert await vault.fresh(grant, upstream, margin=3000) == tokens
    assert refreshes_since(platform, mark) == []

    renewed = await vault.fresh(grant, upstream, margin=4000)  # expires within 4,000 s: refreshed
    assert renewed is not None and len(refreshes_since(platform, mark)) == 1
    assert renewed.access != tokens.access and renewed.refresh not in (None, tokens.refresh)
    assert (renewed.subject, renewed.email) == (tokens.subject, tokens.email)
    assert await vault.load(grant) == renewed  # the rotated pair is saved
    assert works(platform, renewed.access)

    for expires_in in (60, -10):  # within the default margin of 120 s, or expired already
        mark = log_mark(platform)
        current = await vault.load(grant)
        assert current is not None
        soon = PlatformTokens(platform.issue_token(user.email, expires_in), current.refresh, user.email, user.uuid)
        await vault.save(grant, soon)
        again = await vault.fresh(grant, upstream)
        assert again is not None and again.access != soon.access and again.refresh != soon.refresh
        assert len(refreshes_since(platform, mark)) == 1
        assert again.expires_at is not None and again.expires_at > time.time() + 3000


async def test_a_stale_access_token_forces_one_refresh(
    kv: KeyValue, cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    vault, grant = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant()
    tokens = tokens_of(platform.new_user())
    await vault.save(grant, tokens)
    mark = log_mark(platform)
    renewed = await vault.fresh(grant, upstream, stale=tokens.access)
    assert renewed is not None and renewed.access != tokens.access
    assert len(refreshes_since(platform, mark)) == 1
    # Another request that the platform refused with the same old token: the grant is already renewed.
    assert await vault.fresh(grant, upstream, stale=tokens.access) == renewed
    assert len(refreshes_since(platform, mark)) == 1
    assert await vault.fresh(grant, upstream, stale="some other token") == renewed


async def test_replicas_refreshing_one_grant_at_once_send_one_refresh_and_share_its_tokens(
    replicas: list[KeyValue], cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    vaults = [TokenVault(kv, cipher, ttl=GRANT_TTL) for kv in replicas]
    grant, user = new_grant(), platform.new_user()
    tokens = tokens_of(user, platform.issue_token(user.email, 30))  # about to expire
    await vaults[0].save(grant, tokens)
    results: list[PlatformTokens | None] = [None] * (2 * len(vaults))

    async def fresh(index: int) -> None:
        vault = vaults[index % len(vaults)]
        results[index] = await vault.fresh(grant, upstream, stale=tokens.access if index % 2 else None)

    platform.put_settings(latency_ms=400)  # the refresh takes long enough for every replica to ask meanwhile
    try:
        mark = log_mark(platform)
        async with anyio.create_task_group() as group:
            for index in range(len(results)):
                group.start_soon(fresh, index)
    finally:
        platform.put_settings(latency_ms=0)
    assert len(refreshes_since(platform, mark)) == 1
    first = results[0]
    assert first is not None and first.access != tokens.access and first.refresh != tokens.refresh
    assert all(result == first for result in results)
    assert await vaults[-1].load(grant) == first
    assert works(platform, first.access)


async def test_a_refused_refresh_token_ends_the_grant(
    kv: KeyValue, cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    vault, grant, user = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant(), platform.new_user()
    await vault.save(grant, tokens_of(user))
    spent = platform.admin.post(REFRESH_PATH, json={"refresh_token": user.refresh_token})
    assert spent.status_code == 200  # the platform rotated it: the stored one is revoked now
    assert await vault.fresh(grant, upstream, stale=user.access_token) is None
    assert await vault.load(grant) is None and await kv.get("vault:" + grant) is None
    assert await kv.get("vault-lease:" + grant) is None


async def test_an_expired_access_token_without_a_refresh_token_ends_the_grant(
    kv: KeyValue, cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    vault, grant, user = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant(), platform.new_user()
    usable = PlatformTokens(platform.issue_token(user.email, 60), None, user.email, user.uuid)
    await vault.save(grant, usable)
    assert await vault.fresh(grant, upstream) == usable  # due, nothing to renew it with, still valid: used
    await vault.save(grant, PlatformTokens(platform.issue_token(user.email, -120), None, user.email, user.uuid))
    assert await vault.fresh(grant, upstream) is None
    assert await vault.load(grant) is None


async def test_an_unreachable_platform_raises_and_keeps_the_tokens(
    kv: KeyValue, cipher: TokenCipher, platform: Sandbox
) -> None:
    vault, grant = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant()
    tokens = tokens_of(platform.new_user())
    await vault.save(grant, tokens)
    closed = Settings(api_base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=3)
    async with Upstream(closed) as nowhere:
        for _ in range(2):  # the lease is given back: the second try goes to the platform too, without waiting
            started = time.monotonic()
            with pytest.raises(KycError) as failed:
                await vault.fresh(grant, nowhere, stale=tokens.access)
            assert failed.value.code == ErrorCode.UPSTREAM_UNAVAILABLE
            assert time.monotonic() - started < 5
    assert await vault.load(grant) == tokens


async def test_redis_holds_no_token_in_clear(
    redis_kvs: Callable[[int], list[RedisKV]],
    raw: redis_py.Redis,
    cipher: TokenCipher,
    platform: Sandbox,
    upstream: Upstream,
) -> None:
    first, second = (TokenVault(kv, cipher, ttl=GRANT_TTL) for kv in redis_kvs(2))
    grant, user = new_grant(), platform.new_user()
    tokens = tokens_of(user)
    await first.save(grant, tokens)
    platform.put_settings(latency_ms=200)
    try:
        async with anyio.create_task_group() as group:  # a refresh with a waiter, as with two replicas
            group.start_soon(lambda: first.fresh(grant, upstream, stale=tokens.access))
            group.start_soon(lambda: second.fresh(grant, upstream, stale=tokens.access))
    finally:
        platform.put_settings(latency_ms=0)
    renewed = await second.load(grant)
    assert renewed is not None and renewed.access != tokens.access
    secrets_in_clear = [tokens.access, tokens.refresh, renewed.access, renewed.refresh, user.email, user.password]
    needles = [secret.encode() for secret in secrets_in_clear if secret]
    needles += [token.split(".")[1].encode() for token in (tokens.access, renewed.access)]  # the JWT's claims

    blobs: list[bytes] = []
    for key in raw.scan_iter(count=1000):
        blobs.append(key)
        kind = raw.type(key)
        if kind == b"string":
            blobs.append(raw.get(key) or b"")
        elif kind == b"set":
            blobs.extend(raw.smembers(key))
        elif kind == b"hash":
            blobs.extend(b"".join(pair) for pair in raw.hgetall(key).items())
        elif kind == b"list":
            blobs.extend(raw.lrange(key, 0, -1))
    assert f"kyc-mcp:auth:vault:{grant}".encode() in blobs  # the scan does see the vault's value
    assert raw.get(f"kyc-mcp:auth:vault:{grant}")
    leaks = [needle for needle in needles for blob in blobs if needle in blob]
    assert leaks == []


async def test_fresh_fails_closed_when_redis_is_down(
    private_redis: Redis, cipher: TokenCipher, platform: Sandbox, upstream: Upstream
) -> None:
    kv = RedisKV(private_redis.url)
    try:
        vault, grant = TokenVault(kv, cipher, ttl=GRANT_TTL), new_grant()
        tokens = tokens_of(platform.new_user())
        await vault.save(grant, tokens)
        private_redis.stop()
        mark = log_mark(platform)
        attempts = (vault.fresh(grant, upstream, stale=tokens.access), vault.load(grant), vault.save(grant, tokens))
        for attempt in attempts:
            with pytest.raises(KycError) as failed:
                await attempt
            assert failed.value.code == ErrorCode.STATE_UNAVAILABLE
        assert refreshes_since(platform, mark) == []  # nothing spent that could not be saved
    finally:
        await kv.aclose()


# ---------------------------------------------------------------------------------------------- the store


async def test_values_put_add_and_delete(kv: KeyValue) -> None:
    key, other = new_grant(), new_grant()
    assert await kv.get(key) is None
    await kv.put(key, b"one")
    assert await kv.get(key) == b"one"
    assert not await kv.add(key, b"two")
    assert await kv.get(key) == b"one"
    assert await kv.add(other, "deux")  # a str is stored as its UTF-8 bytes
    assert await kv.get(other) == b"deux"
    await kv.put(key, b"\x00\xff binary")
    assert await kv.get(key) == b"\x00\xff binary"
    await kv.delete(key, other, new_grant())
    await kv.delete()
    assert await kv.get(key) is None and await kv.get(other) is None


async def test_values_expire_after_their_ttl(kv: KeyValue) -> None:
    short, kept, added, counter, members = (new_grant() for _ in range(5))
    await kv.put(short, b"v", ttl=0.3)
    await kv.put(kept, b"v")
    assert await kv.add(added, b"v", ttl=0.3)
    assert await kv.count(counter, ttl=0.3) == 1
    await kv.add_member(members, "a", ttl=0.3)
    assert await kv.get(short) == b"v" and await kv.members(members) == {"a"}
    await anyio.sleep(0.6)
    assert await kv.get(short) is None and await kv.get(added) is None
    assert await kv.get(kept) == b"v"
    assert await kv.add(added, b"again")  # an expired value is absent
    assert await kv.count(counter, ttl=10) == 1  # a new count
    assert await kv.members(members) == set()
    with pytest.raises(ValueError, match="positive"):
        await kv.put(short, b"v", ttl=0)


async def test_memory_values_expire_by_its_clock() -> None:
    now = [1000.0]
    kv = MemoryKV(clock=lambda: now[0])
    await kv.put("code", b"v", ttl=10)
    await kv.add_member("grant", "a", ttl=10)
    assert await kv.count("fails", ttl=10) == 1
    now[0] += 5
    assert await kv.count("fails", ttl=10) == 2  # the expiry runs from the first increment
    await kv.add_member("grant", "b")  # no ttl: the set keeps its lifetime
    now[0] += 4.9
    assert await kv.get("code") == b"v" and await kv.members("grant") == {"a", "b"}
    assert await kv.count("fails", ttl=10) == 3
    now[0] += 0.1
    assert await kv.get("code") is None and await kv.take("code") is None
    assert await kv.members("grant") == set()
    assert await kv.count("fails", ttl=10) == 1
    assert not await kv.swap("code", b"v", b"w")


async def test_take_is_single_use_under_concurrency(replicas: list[KeyValue]) -> None:
    key = new_grant()
    won: list[bytes | None] = []

    async def take(index: int) -> None:
        won.append(await replicas[index % len(replicas)].take(key))

    async with anyio.create_task_group() as group:  # first with nothing there: each replica opens its connections
        for index in range(100):
            group.start_soon(take, index)
    assert won == [None] * 100
    won.clear()
    await replicas[0].put(key, b"the code")
    async with anyio.create_task_group() as group:
        for index in range(100):
            group.start_soon(take, index)
    assert len(won) == 100
    assert [value for value in won if value is not None] == [b"the code"]
    assert await replicas[0].get(key) is None and await replicas[0].take(key) is None


async def test_swap_sets_only_over_the_expected_value(replicas: list[KeyValue]) -> None:
    kv, key = replicas[0], new_grant()
    assert not await kv.swap(key, b"", b"new")  # nothing there: nothing matches
    assert await kv.get(key) is None
    await kv.put(key, b"v1")
    assert not await kv.swap(key, b"v0", b"v2")
    assert await kv.get(key) == b"v1"
    assert await kv.swap(key, b"v1", b"v2")
    assert await kv.get(key) == b"v2"
    assert not await kv.swap(key, b"v1", b"v3")  # the old value no longer matches
    assert await kv.swap(key, "v2", "v3", ttl=0.3)
    assert await kv.get(key) == b"v3"
    await anyio.sleep(0.6)
    assert await kv.get(key) is None
    await kv.put(key, b"gone?")
    assert not await kv.swap(key, b"other", None)
    assert await kv.swap(key, b"gone?", None)  # compare-and-delete
    assert await kv.get(key) is None

    await kv.put(key, b"start")
    async with anyio.create_task_group() as group:  # each replica opens its connections first
        for index in range(50):
            group.start_soon(replicas[index % len(replicas)].get, key)
    won: list[bytes] = []

    async def swap(index: int) -> None:
        value = f"replica {index}".encode()
        if await replicas[index % len(replicas)].swap(key, b"start", value):
            won.append(value)

    async with anyio.create_task_group() as group:
        for index in range(50):
            group.start_soon(swap, index)
    assert len(won) == 1
    assert await kv.get(key) == won[0]


async def test_counts_and_sets(replicas: list[KeyValue]) -> None:
    counter, members = new_grant(), new_grant()
    counts: list[int] = []

    async def count(index: int) -> None:
        counts.append(await replicas[index % len(replicas)].count(counter, ttl=60))

    async with anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(count, index)
    assert sorted(counts) == list(range(1, 21))
    assert await replicas[0].get(counter) == b"20"
    assert await replicas[0].members(members) == set()
    for member in ("at:1", "rt:1", "at:1"):
        await replicas[1].add_member(members, member, ttl=60)
    assert await replicas[2].members(members) == {"at:1", "rt:1"}
    await replicas[3].delete(members)
    assert await replicas[0].members(members) == set()


async def test_redis_keys_carry_the_prefix(redis_kvs: Callable[[int], list[RedisKV]], raw: redis_py.Redis) -> None:
    (kv,) = redis_kvs(1)
    key = new_grant()
    await kv.put(key, b"v", ttl=60)
    await kv.add_member(key + ":set", "m", ttl=60)
    assert raw.get("kyc-mcp:auth:" + key) == b"v" and raw.get(key) is None
    assert 0 < raw.pttl("kyc-mcp:auth:" + key) <= 60_000
    assert raw.smembers("kyc-mcp:auth:" + key + ":set") == {b"m"}
    assert 0 < raw.pttl("kyc-mcp:auth:" + key + ":set") <= 60_000


async def test_a_redis_that_is_down_raises_state_unavailable_and_one_back_works_again(private_redis: Redis) -> None:
    kv = RedisKV(private_redis.url)
    try:
        await kv.put("k", b"v")
        assert await kv.take("k") == b"v"  # the scripts are loaded
        private_redis.stop()
        attempts = [
            kv.get("k"),
            kv.put("k", b"v"),
            kv.add("k", b"v"),
            kv.take("k"),
            kv.swap("k", b"v", b"w"),
            kv.delete("k"),
            kv.count("c", 60),
            kv.members("s"),
            kv.add_member("s", "m"),
        ]
        for attempt in attempts:
            with pytest.raises(KycError) as failed:
                await attempt
            assert failed.value.code == ErrorCode.STATE_UNAVAILABLE
            assert failed.value.details["store"] == "redis"
        private_redis.restart()  # empty, without the scripts: they load again
        await kv.put("k", b"v")
        assert await kv.swap("k", b"v", b"w") and await kv.take("k") == b"w"
        assert await kv.count("c", 60) == 1
    finally:
        await kv.aclose()


async def test_open_kv_follows_the_state_url(redis: Redis) -> None:
    memory = open_kv(Settings())
    assert isinstance(memory, MemoryKV) and memory.name == "memory"
    shared = open_kv(Settings.from_env({"KYC_MCP_STATE_URL": redis.url}))
    try:
        assert isinstance(shared, RedisKV) and shared.name == "redis"
        key = new_grant()
        await shared.put(key, b"v", ttl=60)
        other = RedisKV(redis.url)
        try:
            assert await other.get(key) == b"v"  # another replica sees it
        finally:
            await other.aclose()
    finally:
        await shared.aclose()

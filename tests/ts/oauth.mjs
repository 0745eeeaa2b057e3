// The official TypeScript MCP SDK's OAuth support against kyc-mcp's hosted mode as its own authorization server
// (issue 15). Run by tests/hosted/test_ts_oauth.py with KYC_MCP_URL (the server's /mcp URL), KYC_USER_EMAIL and
// KYC_USER_PASSWORD (a platform user). Every step uses the SDK's own functions
// (@modelcontextprotocol/sdk/client/auth.js) or its Client; only the user's browser (the sign-in page) is played
// here with fetch:
//   1. an unauthenticated POST to /mcp: 401 whose WWW-Authenticate names the protected-resource metadata;
//   2. discovery: the protected-resource metadata (RFC 9728) names this /mcp URL and the authorization server,
//      whose metadata (RFC 8414) offers S256 only and registration, revocation, authorization and token
//      endpoints on the same origin;
//   3. dynamic client registration (RFC 7591), and a redirect URI at a foreign host refused;
//   4. /authorize refuses a request without `resource`, with another resource, or with `plain` PKCE; the SDK's
//      own authorization URL leads to the sign-in page, whose form answers 303 with `code` and our `state`;
//   5. the code exchanged for tokens; the SDK Client connects with them (no new authorization) and calls
//      tools/list, get_kyc_metadata and get_profile;
//   6. refreshAuthorization rotates the pair, the new access token works, the old refresh token is refused;
//   7. the SDK Client from nothing, as its documentation says: connect, UnauthorizedError after
//      redirectToAuthorization (which signs in here), transport.finishAuth(code), connect again; then the
//      refresh token it holds is revoked (RFC 7009) and refused afterwards;
//   8. the first authorization code, used again, is refused (single use; checked last, since OAuth 2.1 lets the
//      server revoke what that code issued).
// Prints one JSON line, {"ok": bool, "steps": {name: true, ...}, "tools": n, "failed"?: name}, never a token,
// code, secret or password; on failure also a message on stderr (secrets replaced by [redacted]) and exit 1.
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  registerClient,
  startAuthorization,
  UnauthorizedError,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const MCP_URL = required("KYC_MCP_URL");
const EMAIL = required("KYC_USER_EMAIL");
const PASSWORD = required("KYC_USER_PASSWORD");
const ORIGIN = new URL(MCP_URL).origin;
const SIGN_IN_PATH = "/authorize/signin";
const REDIRECT_URL = "http://127.0.0.1:53682/callback"; // loopback (RFC 8252): never listened on, the 303 is read
const FOREIGN_REDIRECT_URL = "https://redirect.invalid/callback";
const CLIENT_METADATA = {
  client_name: "kyc-mcp TypeScript SDK OAuth test",
  redirect_uris: [REDIRECT_URL],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_post",
};

const steps = {};
const secrets = new Set([PASSWORD]);
let current = "start";
let toolCount = 0;

function keep(...values) {
  for (const value of values) if (typeof value === "string" && value.length >= 4) secrets.add(value);
}

function redact(text) {
  let out = String(text);
  for (const secret of secrets) out = out.split(secret).join("[redacted]");
  return out;
}

function check(condition, detail) {
  if (!condition) throw new Error(detail);
}

async function step(name, body) {
  current = name;
  await body();
  steps[name] = true;
}

function sameUrl(a, b) {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

// Whether `error` is the OAuth error `code` from the server (the SDK parses the error response into OAuthError).
function isOAuthError(error, code) {
  return error instanceof OAuthError && error.errorCode === code;
}

async function refusedWith(code, attempt) {
  try {
    await attempt();
  } catch (error) {
    check(isOAuthError(error, code), `expected the OAuth error ${code}, got ${error?.name}: ${error?.message}`);
    return true;
  }
  throw new Error(`expected the OAuth error ${code}, but the request succeeded`);
}

// ---------------------------------------------------------------------------------------------------------
// The user's browser on kyc-mcp's sign-in page.

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function unescapeHtml(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function attributes(tag) {
  const found = {};
  const pattern = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of tag.replace(/^<\w+/, "").matchAll(pattern)) {
    found[match[1].toLowerCase()] = unescapeHtml(match[2] ?? match[3] ?? match[4] ?? "");
  }
  return found;
}

// The page's forms: each with its action, method, inputs and submit buttons.
function parseForms(html) {
  return [...html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)].map((match) => {
    const form = attributes(match[0].match(/<form\b[^>]*>/i)[0]);
    const inputs = [...match[1].matchAll(/<input\b[^>]*>/gi)].map((tag) => attributes(tag[0]));
    const buttons = [...match[1].matchAll(/<button\b[^>]*>/gi)].map((tag) => attributes(tag[0]));
    return { action: form.action ?? "", method: (form.method ?? "get").toLowerCase(), inputs, buttons };
  });
}

function isSignInPage(response, from) {
  const location = response.headers.get("location");
  if (response.status < 300 || response.status > 399 || !location) return false;
  const target = new URL(location, from);
  return target.origin === ORIGIN && target.pathname === SIGN_IN_PATH;
}

// Follows `authorizationUrl` as a browser would, signs in with the user's email and password, and returns the
// `code` and `state` of the 303 to the client's redirect URI (which is read, not followed).
async function signIn(authorizationUrl) {
  const first = await fetch(authorizationUrl, { redirect: "manual" });
  check(first.status === 302, `/authorize answered ${first.status}, expected 302 to the sign-in page`);
  check(isSignInPage(first, authorizationUrl), "/authorize did not redirect to this server's sign-in page");
  const pageUrl = new URL(first.headers.get("location"), authorizationUrl);
  check(pageUrl.searchParams.get("tx"), "the sign-in page's URL has no tx parameter");
  const page = await fetch(pageUrl, { redirect: "manual" });
  check(page.status === 200, `the sign-in page answered ${page.status}`);
  check((page.headers.get("content-type") ?? "").startsWith("text/html"), "the sign-in page is not HTML");
  const cookies = page.headers.getSetCookie().map((cookie) => cookie.split(";")[0].trim());
  check(cookies.length > 0, "the sign-in page set no cookie (the CSRF cookie)");
  // The sign-in form is the one with the password field (the page may have others, such as a "Deny" button's).
  const forms = parseForms(await page.text()).filter((form) => form.inputs.some((input) => input.name === "password"));
  check(forms.length === 1, `the sign-in page has ${forms.length} forms with a password field, expected 1`);
  const [form] = forms;
  check(form.method === "post", `the sign-in form's method is ${form.method}, expected post`);
  check(form.inputs.some((input) => input.name === "email"), "the sign-in form has no email field");
  const password = form.inputs.find((input) => input.name === "password");
  check(password.type === "password", "the sign-in form's password field is not type=password");
  const hidden = form.inputs.filter((input) => (input.type ?? "").toLowerCase() === "hidden" && input.name);
  check(hidden.length > 0, "the sign-in form has no hidden field (the transaction and CSRF token)");
  const body = new URLSearchParams(hidden.map((input) => [input.name, input.value ?? ""]));
  body.set("email", EMAIL);
  body.set("password", PASSWORD);
  // Pressing the form's first submit button sends its name and value, when it has a name (as a browser does).
  const submit = form.buttons.find((button) => (button.type ?? "submit").toLowerCase() === "submit");
  if (submit?.name) body.set(submit.name, submit.value ?? "");
  const action = new URL(form.action, pageUrl);
  check(action.origin === ORIGIN, "the sign-in form posts to another origin");
  const posted = await fetch(action, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies.join("; "), Origin: ORIGIN },
    body,
  });
  check(posted.status === 303, `the sign-in POST answered ${posted.status}, expected 303 to the redirect URI`);
  const back = new URL(posted.headers.get("location") ?? "", action);
  const expected = new URL(REDIRECT_URL);
  check(back.origin === expected.origin && back.pathname === expected.pathname, "the 303 goes elsewhere than the redirect URI");
  check(!back.searchParams.has("error"), `the 303 carries error=${back.searchParams.get("error")}`);
  const code = back.searchParams.get("code");
  check(code, "the 303 to the redirect URI has no code");
  keep(code);
  return { code, state: back.searchParams.get("state") };
}

// ---------------------------------------------------------------------------------------------------------
// An OAuthClientProvider in memory, whose user agent is signIn().

class MemoryProvider {
  constructor({ clientInformation, tokens } = {}) {
    this._clientInformation = clientInformation;
    this._tokens = tokens;
    this.registrations = 0;
    this.redirects = 0;
    this.invalidations = [];
    this.authorizationCode = undefined;
  }

  get redirectUrl() {
    return REDIRECT_URL;
  }

  get clientMetadata() {
    return CLIENT_METADATA;
  }

  state() {
    this._state = randomBytes(16).toString("hex");
    return this._state;
  }

  clientInformation() {
    return this._clientInformation;
  }

  saveClientInformation(clientInformation) {
    keep(clientInformation.client_secret);
    this._clientInformation = clientInformation;
    this.registrations += 1;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    keep(tokens.access_token, tokens.refresh_token);
    this._tokens = tokens;
  }

  async redirectToAuthorization(authorizationUrl) {
    this.redirects += 1;
    const { code, state } = await signIn(authorizationUrl);
    check(state === this._state, "the 303 to the redirect URI does not carry the SDK's state");
    this.authorizationCode = code;
  }

  saveCodeVerifier(codeVerifier) {
    keep(codeVerifier);
    this._codeVerifier = codeVerifier;
  }

  codeVerifier() {
    check(this._codeVerifier, "the SDK asked for a code verifier it never saved");
    return this._codeVerifier;
  }

  saveDiscoveryState(state) {
    this._discoveryState = state;
  }

  discoveryState() {
    return this._discoveryState;
  }

  invalidateCredentials(scope) {
    this.invalidations.push(scope);
    if (scope === "all" || scope === "client") this._clientInformation = undefined;
    if (scope === "all" || scope === "tokens") this._tokens = undefined;
    if (scope === "all" || scope === "verifier") this._codeVerifier = undefined;
    if (scope === "all" || scope === "discovery") this._discoveryState = undefined;
  }
}

async function connect(provider) {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
  const client = new Client({ name: "kyc-mcp-ts-oauth-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

async function close({ client, transport }) {
  if (transport.sessionId) await transport.terminateSession().catch(() => {});
  await client.close();
}

// tools/list, get_kyc_metadata and get_profile through `provider`'s tokens; returns how many tools were listed.
async function useTools(provider, { withProfile = true } = {}) {
  const session = await connect(provider);
  try {
    const { tools } = await session.client.listTools();
    const names = new Set(tools.map((tool) => tool.name));
    check(names.has("get_kyc_metadata") && names.has("get_profile"), "tools/list lacks get_kyc_metadata or get_profile");
    const metadata = await session.client.callTool({ name: "get_kyc_metadata", arguments: {} });
    check(!metadata.isError, `get_kyc_metadata failed: ${JSON.stringify(metadata.content)}`);
    const occupations = metadata.structuredContent?.occupations;
    check(Array.isArray(occupations) && occupations.length > 0, "get_kyc_metadata returned no occupations");
    if (withProfile) {
      const profile = await session.client.callTool({ name: "get_profile", arguments: {} });
      check(!profile.isError, `get_profile failed: ${JSON.stringify(profile.content)}`);
    }
    return tools.length;
  } finally {
    await close(session);
  }
}

async function revoke(metadata, clientInformation, token, hint) {
  const body = new URLSearchParams({ token, token_type_hint: hint, client_id: clientInformation.client_id });
  if (clientInformation.client_secret) body.set("client_secret", clientInformation.client_secret);
  const response = await fetch(metadata.revocation_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  check(response.status === 200, `the revocation endpoint answered ${response.status}`);
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  let resourceMetadataUrl, prm, issuer, metadata, clientInformation, scope, first, tokens, rotated, sdkProvider;

  await step("unauthenticatedIs401WithResourceMetadata", async () => {
    const response = await fetch(MCP_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "probe", version: "1" } },
      }),
    });
    await response.body?.cancel();
    check(response.status === 401, `an unauthenticated initialize answered ${response.status}, expected 401`);
    check(/^bearer\b/i.test(response.headers.get("www-authenticate") ?? ""), "the 401 has no Bearer WWW-Authenticate");
    resourceMetadataUrl = extractWWWAuthenticateParams(response).resourceMetadataUrl;
    check(resourceMetadataUrl, "the 401's WWW-Authenticate names no resource_metadata");
    const expected = `${ORIGIN}/.well-known/oauth-protected-resource${new URL(MCP_URL).pathname}`;
    check(sameUrl(resourceMetadataUrl, expected), `resource_metadata is ${resourceMetadataUrl}, expected ${expected}`);
  });

  await step("protectedResourceMetadataNamesThisResource", async () => {
    prm = await discoverOAuthProtectedResourceMetadata(MCP_URL, { resourceMetadataUrl });
    check(prm.resource === MCP_URL, `the protected-resource metadata's resource is ${prm.resource}, expected ${MCP_URL}`);
    check(Array.isArray(prm.authorization_servers) && prm.authorization_servers.length > 0, "no authorization_servers");
    issuer = prm.authorization_servers.find((server) => sameUrl(server, ORIGIN));
    check(issuer, `authorization_servers ${JSON.stringify(prm.authorization_servers)} does not name ${ORIGIN}`);
    scope = prm.scopes_supported?.join(" ") || undefined; // the SDK's own choice (SEP-835)
  });

  await step("authorizationServerMetadataMatches", async () => {
    metadata = await discoverAuthorizationServerMetadata(issuer);
    check(metadata, `no authorization-server metadata for ${issuer}`);
    check(sameUrl(metadata.issuer, issuer), `the metadata's issuer is ${metadata.issuer}, the resource names ${issuer}`);
    const methods = metadata.code_challenge_methods_supported;
    check(JSON.stringify(methods) === JSON.stringify(["S256"]), `code_challenge_methods_supported is ${JSON.stringify(methods)}`);
    for (const name of ["authorization_endpoint", "token_endpoint", "registration_endpoint", "revocation_endpoint"]) {
      check(metadata[name], `the authorization-server metadata has no ${name}`);
      check(new URL(metadata[name]).origin === ORIGIN, `${name} ${metadata[name]} is not on ${ORIGIN}`);
    }
    check(metadata.response_types_supported?.includes("code"), "response_types_supported lacks code");
    for (const grant of ["authorization_code", "refresh_token"]) {
      check(metadata.grant_types_supported?.includes(grant), `grant_types_supported lacks ${grant}`);
    }
  });

  await step("dynamicRegistration", async () => {
    clientInformation = await registerClient(issuer, { metadata, clientMetadata: CLIENT_METADATA, scope });
    keep(clientInformation.client_secret);
    check(typeof clientInformation.client_id === "string" && clientInformation.client_id, "the registration has no client_id");
    check(clientInformation.redirect_uris?.some((uri) => sameUrl(uri, REDIRECT_URL)), "the registration lacks the redirect URI");
    check(clientInformation.client_secret, "a client_secret_post registration got no client_secret");
  });

  await step("registrationRefusesForeignRedirectUri", async () => {
    const clientMetadata = { ...CLIENT_METADATA, redirect_uris: [FOREIGN_REDIRECT_URL] };
    try {
      const registered = await registerClient(issuer, { metadata, clientMetadata, scope });
      keep(registered.client_secret);
    } catch {
      return; // registerClient throws on any non-2xx answer
    }
    throw new Error(`a redirect URI at ${new URL(FOREIGN_REDIRECT_URL).host} was registered`);
  });

  await step("authorizeRefusesMissingResourceWrongResourceAndPlainPkce", async () => {
    const { authorizationUrl, codeVerifier } = await startAuthorization(issuer, {
      metadata,
      clientInformation,
      redirectUrl: REDIRECT_URL,
      scope,
      state: randomBytes(16).toString("hex"),
      resource: prm.resource,
    });
    keep(codeVerifier);
    const variants = {
      "no resource": (url) => url.searchParams.delete("resource"),
      "another resource": (url) => url.searchParams.set("resource", `${ORIGIN}/elsewhere`),
      "plain PKCE": (url) => {
        url.searchParams.set("code_challenge_method", "plain");
        url.searchParams.set("code_challenge", codeVerifier);
      },
    };
    for (const [name, change] of Object.entries(variants)) {
      const url = new URL(authorizationUrl);
      change(url);
      const response = await fetch(url, { redirect: "manual" });
      await response.body?.cancel();
      check(!isSignInPage(response, url), `/authorize with ${name} led to the sign-in page`);
    }
  });

  await step("authorizationWithPkceAndResource", async () => {
    const state = randomBytes(16).toString("hex");
    const started = await startAuthorization(issuer, {
      metadata,
      clientInformation,
      redirectUrl: REDIRECT_URL,
      scope,
      state,
      resource: prm.resource,
    });
    keep(started.codeVerifier);
    const url = started.authorizationUrl;
    check(url.searchParams.get("code_challenge_method") === "S256", "the SDK did not ask for S256");
    check(url.searchParams.get("resource") === MCP_URL, "the authorization URL's resource is not this /mcp URL");
    const answer = await signIn(url);
    check(answer.state === state, "the 303 to the redirect URI does not carry our state");
    first = { code: answer.code, codeVerifier: started.codeVerifier };
  });

  const exchange = () =>
    exchangeAuthorization(issuer, {
      metadata,
      clientInformation,
      authorizationCode: first.code,
      codeVerifier: first.codeVerifier,
      redirectUri: REDIRECT_URL,
      resource: prm.resource,
    });

  await step("tokenExchange", async () => {
    tokens = await exchange();
    keep(tokens.access_token, tokens.refresh_token);
    check(tokens.access_token, "no access token");
    check(tokens.refresh_token, "no refresh token");
    check(tokens.token_type?.toLowerCase() === "bearer", `token_type is ${tokens.token_type}`);
    check(Number.isFinite(tokens.expires_in) && tokens.expires_in > 0, "no positive expires_in");
  });

  await step("sdkClientWithTheTokens", async () => {
    const provider = new MemoryProvider({ clientInformation: { ...clientInformation, issuer }, tokens: { ...tokens, issuer } });
    toolCount = await useTools(provider);
    check(provider.redirects === 0 && provider.registrations === 0, "the SDK authorized again with valid tokens");
  });

  await step("refreshRotatesThePair", async () => {
    rotated = await refreshAuthorization(issuer, {
      metadata,
      clientInformation,
      refreshToken: tokens.refresh_token,
      resource: prm.resource,
    });
    keep(rotated.access_token, rotated.refresh_token);
    check(rotated.access_token && rotated.access_token !== tokens.access_token, "the refresh gave no new access token");
    check(rotated.refresh_token && rotated.refresh_token !== tokens.refresh_token, "the refresh gave no new refresh token");
  });

  await step("refreshedAccessTokenWorks", async () => {
    const provider = new MemoryProvider({ clientInformation: { ...clientInformation, issuer }, tokens: { ...rotated, issuer } });
    await useTools(provider, { withProfile: false });
    check(provider.redirects === 0, "the SDK authorized again with the refreshed tokens");
  });

  await step("oldRefreshTokenRefusedOnReuse", async () => {
    await refusedWith("invalid_grant", () =>
      refreshAuthorization(issuer, { metadata, clientInformation, refreshToken: tokens.refresh_token, resource: prm.resource })
    );
  });

  await step("sdkAuthFlowFromNothing", async () => {
    const provider = new MemoryProvider();
    let refused;
    try {
      await connect(provider);
    } catch (error) {
      refused = error;
    }
    check(refused instanceof UnauthorizedError, `the first connect ended with ${refused ? refused.name : "success"}, expected UnauthorizedError`);
    check(provider.registrations === 1 && provider.redirects === 1, "the SDK did not register once and redirect once");
    check(provider.authorizationCode, "the browser brought back no code");
    const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
    await transport.finishAuth(provider.authorizationCode);
    check(provider.tokens()?.access_token && provider.tokens()?.refresh_token, "finishAuth saved no token pair");
    const tools = await useTools(provider);
    check(tools === toolCount, `the second client listed ${tools} tools, the first ${toolCount}`);
    check(provider.redirects === 1, "the SDK asked for another authorization after finishAuth");
    check(provider.invalidations.length === 0, `the SDK invalidated credentials: ${provider.invalidations.join(", ")}`);
    sdkProvider = provider;
  });

  await step("revokedRefreshTokenRefused", async () => {
    const held = sdkProvider.tokens().refresh_token;
    const registered = sdkProvider.clientInformation();
    await revoke(metadata, registered, held, "refresh_token");
    await refusedWith("invalid_grant", () =>
      refreshAuthorization(issuer, { metadata, clientInformation: registered, refreshToken: held, resource: prm.resource })
    );
  });

  await step("authorizationCodeSingleUse", async () => {
    await refusedWith("invalid_grant", exchange);
  });
}

let ok = true;
try {
  await main();
} catch (error) {
  ok = false;
  console.error(redact(`${current}: ${error?.name ?? "Error"}: ${error?.message ?? error}`));
}
const line = { ok, steps, tools: toolCount };
if (!ok) line.failed = current;
console.log(JSON.stringify(line));
process.exit(ok ? 0 : 1);

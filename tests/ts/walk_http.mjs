// The official TypeScript MCP SDK as a client of hosted kyc-mcp (streamable HTTP, the user's platform token as
// the bearer), walking a plan of steps that tests/test_ts_http_flows.py gives it and checks.
//
// KYC_SDK chooses the SDK: "v1" (@modelcontextprotocol/sdk 1.32.2, whose newest revision is 2025-11-25) or "v2"
// (@modelcontextprotocol/client, the SDK's v2 line, pinned to protocol 2026-07-28 by `versionNegotiation`).
// Either declares form elicitation and answers every consent question (a form asking `confirm`) with
// {confirm: true}; anything else it is asked is declined. On 2025-11-25 a question arrives as an
// `elicitation/create` request during the call; on 2026-07-28 in the call's `input_required` result, which the
// v2 client fulfils through the same handler and retries.
//
// Environment: KYC_MCP_URL (the /mcp URL), KYC_TOKEN (the bearer), KYC_SANDBOX_URL (for decisions), KYC_PLAN (a
// JSON list of steps: {tool, arguments} or {decide: {email, flow, outcome}}, the sandbox's admin decision). An
// argument written "$N.key" is step N's structured result's `key` (a path from an upload, say). The walk stops
// after the first step that fails. Prints one JSON line:
//   {sdk, protocol, steps: [{tool, isError, structured, text, asked: [{mode, message, fields}]} | {decide, status}]}
// or, when the client itself fails, {..., error} and exit 1. The token is never printed.

const { KYC_SDK: SDK, KYC_MCP_URL: URL_, KYC_TOKEN: TOKEN, KYC_SANDBOX_URL: SANDBOX } = process.env;
const PLAN = JSON.parse(process.env.KYC_PLAN);
const PROTOCOL = "2026-07-28";
const info = { name: "kyc-mcp-ts-http-walk", version: "1.0.0" };
const capabilities = { elicitation: { form: {} } };
const requestInit = { headers: { Authorization: `Bearer ${TOKEN}` } };

let asked = [];
async function answer(request) {
  const { mode = "form", message, requestedSchema } = request.params;
  const fields = Object.keys(requestedSchema?.properties ?? {});
  asked.push({ mode, message, fields });
  if (mode === "form" && fields.length === 1 && fields[0] === "confirm") return { action: "accept", content: { confirm: true } };
  return { action: "decline" };
}

async function connect() {
  if (SDK === "v1") {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
    const { ElicitRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const client = new Client(info, { capabilities });
    client.setRequestHandler(ElicitRequestSchema, answer);
    const transport = new StreamableHTTPClientTransport(new URL(URL_), { requestInit });
    await client.connect(transport);
    return { client, protocol: () => transport.protocolVersion };
  }
  const { Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
  const client = new Client(info, { capabilities, versionNegotiation: { mode: { pin: PROTOCOL } } });
  client.setRequestHandler("elicitation/create", answer);
  await client.connect(new StreamableHTTPClientTransport(new URL(URL_), { requestInit }));
  return { client, protocol: () => client.getNegotiatedProtocolVersion() };
}

function resolved(value, steps) {
  if (typeof value === "string" && /^\$\d+\./.test(value)) {
    const [index, key] = value.slice(1).split(/\.(.*)/s);
    return steps[Number(index)].structured[key];
  }
  return value;
}

async function decide(body) {
  const response = await fetch(`${SANDBOX}/sandbox/decisions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { decide: body.flow, status: response.status };
}

const line = { sdk: SDK, steps: [] };
let failed = false;
try {
  const { client, protocol } = await connect();
  line.protocol = protocol();
  for (const step of PLAN) {
    if (step.decide) {
      line.steps.push(await decide(step.decide));
      continue;
    }
    const args = Object.fromEntries(Object.entries(step.arguments ?? {}).map(([k, v]) => [k, resolved(v, line.steps)]));
    asked = [];
    const result = await client.callTool({ name: step.tool, arguments: args });
    const isError = result.isError ?? false;
    line.steps.push({ tool: step.tool, isError, structured: result.structuredContent, text: result.content?.[0]?.text, asked });
    if (isError) break;
  }
  await client.close();
} catch (error) {
  failed = true;
  line.error = `${error?.name ?? "Error"}: ${String(error?.message ?? error).split(TOKEN).join("[token]")}`;
}
console.log(JSON.stringify(line));
process.exit(failed ? 1 : 0);

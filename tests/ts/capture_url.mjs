// The official TypeScript MCP SDK as a client of `kyc-mcp serve` (stdio) that supports URL-mode elicitation:
// `collect_kyc_details` asks it to open the capture page; like a person with a browser, it fills the profile step
// there with Node's fetch (the CSRF cookie and field kept by hand), then ends the page; the call answers with the
// receipt. Prints one JSON line: the page's HTTP statuses and the tool results. Run by tests/test_ts_client.py.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const PROFILE = JSON.parse(process.env.KYC_PAGE_VALUES);
const [command, ...args] = JSON.parse(process.env.KYC_SERVER_COMMAND);
const transport = new StdioClientTransport({ command, args, env: JSON.parse(process.env.KYC_SERVER_ENV), stderr: "ignore" });
const client = new Client({ name: "kyc-mcp-ts-capture", version: "1.0.0" }, { capabilities: { elicitation: { url: {} } } });
const statuses = [];
const asked = [];
let visit = Promise.resolve();

async function post(url, cookie, page, values) {
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)[1];
  const form = new FormData();
  for (const [name, value] of Object.entries({ csrf, lang: "en", ...values })) form.append(name, value);
  const answer = await fetch(url, { method: "POST", body: form, headers: { cookie }, redirect: "manual" });
  statuses.push(answer.status);
}

async function fill(url) {
  const opened = await fetch(url);
  statuses.push(opened.status);
  const cookie = opened.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  await post(url, cookie, await opened.text(), { action: "submit", ...PROFILE });
  const next = await fetch(url, { headers: { cookie } });
  statuses.push(next.status);
  await post(url, cookie, await next.text(), { action: "finish" });
}

client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push(request.params.mode ?? "form");
  if (request.params.mode !== "url") return { action: "accept", content: { confirm: true } };
  visit = fill(request.params.url);
  return { action: "accept" };
});

await client.connect(transport);
const results = {};
for (const [name, args] of [["create_masterpay_user", {}], ["get_kyc_metadata", {}], ["collect_kyc_details", { flow: "masterpay" }]]) {
  const result = await client.callTool({ name, arguments: args });
  results[name] = { isError: result.isError ?? false, structured: result.structuredContent, text: result.content?.[0]?.text };
}
await visit;
console.log(JSON.stringify({ statuses, asked, results }));
await client.close();

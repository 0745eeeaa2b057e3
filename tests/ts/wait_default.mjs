// The official TypeScript MCP SDK as a client of `kyc-mcp serve` (stdio): calls wait_for_kyc_decision with the
// SDK's default request timeout (60 s, no option given) and prints one JSON line: how long it took and the
// result, or the error (a request timeout is McpError -32001). Run by tests/test_ts_client.py.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from "@modelcontextprotocol/sdk/shared/protocol.js";

const [command, ...args] = JSON.parse(process.env.KYC_SERVER_COMMAND);
const transport = new StdioClientTransport({ command, args, env: JSON.parse(process.env.KYC_SERVER_ENV), stderr: "ignore" });
const client = new Client({ name: "kyc-mcp-ts-test", version: "1.0.0" });
await client.connect(transport);
const started = Date.now();
let line;
try {
  const result = await client.callTool({ name: "wait_for_kyc_decision", arguments: { flow: "masterpay" } });
  line = { seconds: (Date.now() - started) / 1000, timeoutMs: DEFAULT_REQUEST_TIMEOUT_MSEC, isError: result.isError ?? false, result: result.structuredContent };
} catch (error) {
  line = { seconds: (Date.now() - started) / 1000, timeoutMs: DEFAULT_REQUEST_TIMEOUT_MSEC, error: { code: error.code, message: String(error.message) } };
}
console.log(JSON.stringify(line));
await client.close();

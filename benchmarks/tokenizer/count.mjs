// Reads a JSON array of strings on stdin and prints the o200k_base token count of each, as a JSON array.
// The ranks come with the js-tiktoken package (benchmarks/tool_list.py runs this with the machine's Node).
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200k_base from "js-tiktoken/ranks/o200k_base";

const texts = JSON.parse(readFileSync(0, "utf8"));
const encoding = new Tiktoken(o200k_base);
process.stdout.write(JSON.stringify(texts.map((text) => encoding.encode(text).length)) + "\n");

// @ts-check
// A host in another language: calls the calculator's exports over HTTP, in a loop, through a
// client typed from the server's /openapi.json (api.d.ts, `npm run generate`). Edit
// examples/calculator/calculator.py while `hotreload up` runs there: the next round shows it;
// a change that breaks the contract is rejected, and the rounds go on with the running version.
import createClient from "openapi-fetch";

/** @typedef {import("./api.js").paths} paths */

const baseUrl = process.env.HOTRELOAD_URL ?? "http://127.0.0.1:8000";
const token = process.env.HOTRELOAD_TOKEN; // when the profile names a token_env
const rounds = Number(process.env.ROUNDS ?? "0"); // 0: until Ctrl+C
const intervalMs = Number(process.env.INTERVAL_MS ?? "2000");

/** @type {import("openapi-fetch").Client<paths>} */
const client = createClient({
  baseUrl,
  headers: token ? { Authorization: `Bearer ${token}` } : {},
});

/**
 * One call's outcome as a line: its result, or the problem the server answered with.
 * @param {{ data?: { result: unknown }, error?: { status: number, detail: string } }} answer
 * @param {(result: any) => string} show
 */
function line(answer, show) {
  if (answer.error) return `error ${answer.error.status}: ${answer.error.detail}`;
  return show(answer.data?.result);
}

async function round() {
  const sum = await client.POST("/call/calculator/add", { body: { a: 5, b: 3 } });
  console.log(line(sum, (result) => `5 + 3 = ${result}`));
  const product = await client.POST("/call/calculator/multiply", { body: { a: 5, b: 3 } });
  console.log(line(product, (result) => `5 * 3 = ${result}`));
  const text = await client.POST("/call/calculator/describe_operation", {
    body: { operation: "addition" },
  });
  console.log(line(text, (result) => result));
}

let done = 0;
while (rounds === 0 || done < rounds) {
  try {
    await round();
  } catch (error) {
    // The server is not up yet, or restarting: say so, and try again next round.
    console.log(`unreachable: ${error instanceof Error ? error.message : error}`);
  }
  console.log(`(round ${++done}; Ctrl+C to exit)`);
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}

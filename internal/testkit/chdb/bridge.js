// The bridge between Go tests and chdb, a current ClickHouse as a library:
// one JSON request a line on stdin ({"db", "sql", "format"}), one JSON
// answer a line on stdout ({"data"} or {"error"}), in order.
"use strict";
const { Session } = require("chdb");
const readline = require("readline");

const session = new Session(process.argv[2]);
let current = "default";

function run(req) {
  if (req.db && req.db !== current) {
    session.query("USE `" + req.db + "`");
    current = req.db;
  }
  return session.query(req.sql, req.format || "TabSeparatedWithNames");
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  let answer;
  try {
    answer = { data: run(JSON.parse(line)) };
  } catch (e) {
    answer = { error: String((e && e.message) || e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
rl.on("close", () => process.exit(0));

// The query page of a dataset (see site-generator/src/pages/query.rs): runs the reader's SQL
// in DuckDB-WASM, served with the site, over the dataset's Parquet files of this release
// (same origin, read a byte range at a time). Nothing is sent anywhere: the only requests
// are for the engine's files and the Parquet files the page lists.
//
// Every value from a result is put in the page as text (textContent), never as HTML. The CSV
// export is made here, as the site's CSVs are: UTF-8 with a byte-order mark, CRLF, RFC 4180
// quoting, and a text cell starting with = + - @ TAB or CR prefixed with ' (numbers are
// written as they are, negative ones included).

const form = document.getElementById("query-form");
const sqlBox = document.getElementById("query-sql");
const runButton = document.getElementById("query-run");
const csvButton = document.getElementById("query-csv");
const statusLine = document.getElementById("query-status");
const errorLine = document.getElementById("query-error");
const resultWrap = document.getElementById("query-result");

const text = (key, values = {}) =>
  form.dataset[key].replace(/\{(\w+)\}/g, (m, name) => (name in values ? values[name] : m));
const integer = (n) => new Intl.NumberFormat(document.documentElement.lang).format(n);
// "1 row", "2 rows": the page's words for a count in the plural form its language gives n
// (Chinese has one form, English "one" and "other").
const plural = new Intl.PluralRules(document.documentElement.lang);
const count = (key, n) =>
  text(key + (plural.select(n) === "one" ? "One" : "Other"), { n: integer(n) });

let engine = null; // the connection, once started
let last = null; // the last result (see tableOf)

/** Starts DuckDB-WASM in a worker, registers the page's Parquet files and makes the view. */
async function start() {
  const duckdb = await import(new URL(form.dataset.module, location.href).href);
  const worker = new Worker(new URL(form.dataset.worker, location.href).href);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(new URL(form.dataset.wasm, location.href).href);
  await db.open({ query: { castBigIntToDouble: false, castDecimalToDouble: true } });
  const names = [];
  for (const a of document.querySelectorAll("a[data-parquet]")) {
    const name = a.dataset.parquet;
    await db.registerFileURL(name, new URL(a.getAttribute("href"), location.href).href,
      duckdb.DuckDBDataProtocol.HTTP, false);
    names.push(name);
  }
  const conn = await db.connect();
  const list = names.map((n) => "'" + n.replace(/'/g, "''") + "'").join(", ");
  await conn.query(`CREATE VIEW "${form.dataset.table}" AS ` +
    `SELECT * FROM read_parquet([${list}], union_by_name = true)`);
  return conn;
}

/** The kind of a result column, from its Arrow type: how its values are written. */
function kindOf(type) {
  const t = String(type);
  if (t.startsWith("Date")) return "date";
  if (t.startsWith("Timestamp")) return "timestamp";
  if (t === "Utf8" || t === "LargeUtf8" || t.startsWith("Dictionary")) return "text";
  return "value";
}

/** A value as text (null: null). Dates as YYYY-MM-DD, timestamps in ISO 8601 UTC. */
function show(value, kind) {
  if (value === null || value === undefined) return null;
  if (kind === "date") return new Date(Number(value)).toISOString().slice(0, 10);
  if (kind === "timestamp") return new Date(Number(value)).toISOString();
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (typeof value === "boolean" || typeof value === "string") return String(value);
  return JSON.stringify(value, (k, v) => (typeof v === "bigint" ? String(v) : v));
}

/**
 * The result of a query: its columns, its row count, and its rows as text (null for a
 * missing value), the first `n` of them or all (`rows(Infinity)`). Only the rows shown are
 * turned into text when it runs; the CSV export turns them all.
 */
function tableOf(result) {
  const columns = result.schema.fields.map((f) => ({ name: f.name, kind: kindOf(f.type) }));
  const vectors = columns.map((c, i) => result.getChildAt(i));
  const rows = (n) => {
    const out = [];
    for (let r = 0; r < Math.min(n, result.numRows); r++) {
      out.push(columns.map((c, i) => show(vectors[i].get(r), c.kind)));
    }
    return out;
  };
  return { columns, count: result.numRows, rows };
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** The result table, made anew: caption, a header row, up to the row limit of rows. */
function render(table) {
  const limit = Number(form.dataset.rowLimit);
  clear(resultWrap);
  const el = document.createElement("table");
  el.className = "data query-table";
  const caption = el.createCaption();
  caption.textContent = resultWrap.dataset.caption;
  const head = el.createTHead().insertRow();
  const body = el.createTBody();
  resultWrap.appendChild(el);
  for (const c of table.columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.name;
    head.appendChild(th);
  }
  for (const row of table.rows(limit)) {
    const tr = document.createElement("tr");
    for (const v of row) {
      const td = document.createElement("td");
      if (v === null) {
        td.className = "null";
        td.textContent = form.dataset.null;
      } else {
        td.textContent = v;
      }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  resultWrap.hidden = table.columns.length === 0;
  const values = {
    rows: count("rows", table.count),
    columns: count("columns", table.columns.length),
    shown: integer(Math.min(limit, table.count)),
  };
  statusLine.textContent = table.count === 0 ? text("empty")
    : table.count > limit ? text("doneLimited", values) : text("done", values);
}

/** A cell of the CSV export: formula-neutralised if text, quoted as RFC 4180 asks. */
function csvCell(value, kind) {
  if (value === null) return "";
  let s = value;
  if (kind === "text" && /^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function csvOf(table) {
  const lines = [table.columns.map((c) => csvCell(c.name, "text")).join(",")];
  for (const row of table.rows(Infinity)) {
    lines.push(row.map((v, i) => csvCell(v, table.columns[i].kind)).join(","));
  }
  return "\uFEFF" + lines.map((l) => l + "\r\n").join("");
}

async function run(event) {
  event.preventDefault();
  errorLine.hidden = true;
  errorLine.textContent = "";
  runButton.disabled = true;
  csvButton.disabled = true;
  try {
    if (engine === null) {
      statusLine.textContent = text("loading");
      try {
        engine = await start();
      } catch (e) {
        statusLine.textContent = "";
        errorLine.textContent = text("engineFailed") + " (" + (e && e.message ? e.message : String(e)) + ")";
        errorLine.hidden = false;
        return;
      }
    }
    statusLine.textContent = text("running");
    const result = await engine.query(sqlBox.value);
    last = tableOf(result);
    render(last);
    csvButton.disabled = last.columns.length === 0;
  } catch (e) {
    statusLine.textContent = "";
    resultWrap.hidden = true;
    errorLine.textContent = text("failed") + " " + (e && e.message ? e.message : String(e));
    errorLine.hidden = false;
  } finally {
    runButton.disabled = false;
  }
}

function exportCsv() {
  if (last === null) return;
  const blob = new Blob([csvOf(last)], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = form.dataset.csvName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

form.addEventListener("submit", run);
csvButton.addEventListener("click", exportCsv);
for (const b of document.querySelectorAll("button[data-sql-from]")) {
  b.addEventListener("click", () => {
    sqlBox.value = document.getElementById(b.dataset.sqlFrom).textContent;
    sqlBox.focus();
  });
}

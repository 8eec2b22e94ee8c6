//! The bundle's README and citation, in Chinese and English.
//!
//! Stage: none (pure text from an [`About`]).

use envgov_dataset::Localized;

/// What the texts say about a bundle.
pub struct About<'a> {
    pub uscc: &'a str,
    /// The bundle's month, `YYYY-MM`.
    pub month: &'a str,
    pub name: &'a Localized,
    pub data_date: &'a str,
    pub url: &'a str,
    pub publisher: &'a str,
    /// The datasets whose rows the bundle holds.
    pub datasets: Vec<&'a str>,
    pub exceedances: usize,
    /// Days of hourly readings the bundle holds (`data/cems-hourly/`).
    pub hourly_days: usize,
}

/// The citation: publisher, datasets, unit, data date, URL and the sha256 of
/// `contents.json` (the listing of every evidence file of the bundle).
pub fn citation(b: &About<'_>, contents_sha256: &str) -> Localized {
    let datasets = b.datasets.join(", ");
    let zh = format!(
        "发布者：envgov 北京环境治理公开数据（{publisher}）\n\
         数据集：{datasets}（北京市重点排污单位环境信息公开数据，CC BY 4.0）\n\
         单位：{name_zh}（统一社会信用代码 {uscc}）\n\
         月份：{month}\n\
         数据日期：截至 {date}\n\
         网址：{url}\n\
         contents.json 的 sha256：{sha}\n\
         \n\
         引用格式：\n\
         envgov 北京环境治理公开数据.《{name_zh} 环境信息证据包（{month}）》（数据截至 {date}）. {url}. contents.json sha256 {sha}.\n",
        publisher = b.publisher,
        name_zh = b.name.zh,
        uscc = b.uscc,
        month = b.month,
        date = b.data_date,
        url = b.url,
        sha = contents_sha256,
    );
    let en = format!(
        "Publisher: envgov, Beijing environmental governance open data ({publisher})\n\
         Datasets: {datasets} (environmental disclosures of Beijing's key polluting units, CC BY 4.0)\n\
         Unit: {name_en} (unified social credit code {uscc})\n\
         Month: {month}\n\
         Data date: up to {date}\n\
         URL: {url}\n\
         sha256 of contents.json: {sha}\n\
         \n\
         Cite as:\n\
         envgov, Beijing environmental governance open data. Evidence bundle of {name_en}, {month} (data up to {date}). {url}. contents.json sha256 {sha}.\n",
        publisher = b.publisher,
        name_en = b.name.en,
        uscc = b.uscc,
        month = b.month,
        date = b.data_date,
        url = b.url,
        sha = contents_sha256,
    );
    Localized::new(zh, en)
}

/// The README: what is inside and how to check it.
pub fn readme(b: &About<'_>) -> Localized {
    let n = b.exceedances;
    let h = b.hourly_days;
    let (hourly_zh, hourly_en) = if h == 0 {
        (String::new(), String::new())
    } else {
        (
            format!(
                "- `data/cems-hourly/{{年-月}}/{{日期}}.csv`：本单位在线监测的全部小时值（共 {h} 天，每天一个文件），即公开数据集 cems-hourly 中本单位的行：原始均值、折算均值、最小值、最大值、排放量、设备标记、是否有效（无效时的剔除原因）、当月小时限值及是否超过，并带原始文件键 `raw_key`、行号 `raw_line` 和原始文件的 sha256 `raw_sha256`，可逐行核对原始 HJ 212 数据包。\n"
            ),
            format!(
                "- `data/cems-hourly/{{YYYY-MM}}/{{date}}.csv`: every hourly reading of the unit's online monitoring ({h} days, a file a day), its rows of the published dataset cems-hourly: measured and converted means, minimum, maximum, mass, device flag, validity (with the reason when excluded), the month's hourly limit and whether the value exceeds it, with the raw file's key `raw_key`, the line `raw_line` and the raw file's sha256 `raw_sha256`, so that each value can be checked against its raw HJ 212 packet.\n"
            ),
        )
    };
    let zh = format!(
        "# {name_zh} 环境信息证据包\n\
         \n\
         统一社会信用代码 {uscc}，{month} 月份的数据（截至 {date}）；每月一个证据包，其他月份见单位页面。来源：{url}\n\
         \n\
         ## 内容\n\
         \n\
         - `data/*.csv`：本单位当月在各公开数据集（日均值、超标登记、自行监测、排放总量的月度行）中的记录，与公开数据集 CSV 中的行逐字节相同；每行带有原始文件键 `raw_key`、行号 `raw_line` 和原始文件的 sha256 `raw_sha256`（如有）。\n\
         {hourly_zh}- `exceedances/`：本单位的 {n} 条超标记录，每条一个文件夹（`index.csv` 列出文件夹与超标编号）：\n\
           - `exceedance.json`：超标登记中的该行；\n\
           - `raw-lines.txt`：所依据的原始数据行（HJ 212 数据包或 CSV 行），逐字节照录，每行一条；`raw-lines.csv` 给出每行所在的原始文件、行号及该文件的 sha256；\n\
           - `hourly-values.csv`（日均值超标）：当日的小时均值、是否有效及其原始行；\n\
           - `calculation.zh.txt` / `calculation.en.txt` / `calculation.json`：逐步计算（有效小时数、和、均值、限值及其标准、超标倍数，保留 6 位小数）。\n\
         - `contents.json`：上述每个文件的 sha256 和字节数；`CITATION.zh.txt` / `CITATION.en.txt`：引用方式。\n\
         - `manifest.json` 与 `manifest.json.minisig`：本包全部文件的清单及其 Ed25519（minisign 格式）签名。\n\
         \n\
         ## 如何核验\n\
         \n\
         1. `envgov verify 本文件.zip`：核验签名、清单及每个文件的哈希，全部相符时退出码为 0。\n\
         2. 或解压后：`minisign -V -p envgov.pub -m manifest.json`，再用 `sha256sum` 逐一比对 `manifest.json` 所列哈希。\n\
         3. 核对原始行：在原始文件中执行 `sed -n '行号p' 原始文件`，应与 `raw-lines.txt` 中对应行相同；原始文件的 sha256 应与 `raw-lines.csv` 所列相同。\n\
         \n\
         数据以 CC BY 4.0 许可发布。\n",
        name_zh = b.name.zh,
        uscc = b.uscc,
        month = b.month,
        date = b.data_date,
        url = b.url,
    );
    let en = format!(
        "# Evidence bundle of {name_en}\n\
         \n\
         Unified social credit code {uscc}, the data of {month} (up to {date}); one bundle a month, the other months on the unit's page. Source: {url}\n\
         \n\
         ## Contents\n\
         \n\
         - `data/*.csv`: the unit's rows of the month of each published dataset (daily means, exceedance register, self-monitoring, the month's emission totals), byte for byte the rows of the published CSV; each row carries the raw file's key `raw_key`, the line `raw_line` and the raw file's sha256 `raw_sha256` where the dataset has them.\n\
         {hourly_en}- `exceedances/`: the unit's {n} exceedances, one folder each (`index.csv` lists the folders and exceedance ids):\n\
           - `exceedance.json`: the register's row;\n\
           - `raw-lines.txt`: the raw line(s) it rests on (HJ 212 packets or CSV rows), byte for byte, one per line; `raw-lines.csv` says for each line its raw file, line number and that file's sha256;\n\
           - `hourly-values.csv` (daily exceedances): the day's hourly means, whether each is valid, and its raw line;\n\
           - `calculation.en.txt` / `calculation.zh.txt` / `calculation.json`: the calculation step by step (valid hours, sum, mean, the limit and its standard, the exceedance multiple rounded to 6 decimals).\n\
         - `contents.json`: every file above with its sha256 and size; `CITATION.en.txt` / `CITATION.zh.txt`: how to cite the bundle.\n\
         - `manifest.json` and `manifest.json.minisig`: every file of the bundle and its Ed25519 signature (minisign format).\n\
         \n\
         ## How to check it\n\
         \n\
         1. `envgov verify this-file.zip` checks the signature, the manifest and every file's hash; it exits 0 only when all hold.\n\
         2. Or unzip it, run `minisign -V -p envgov.pub -m manifest.json`, then compare each hash `manifest.json` lists with `sha256sum`.\n\
         3. Check a raw line: `sed -n 'Np' raw-file` prints the line `raw-lines.txt` quotes; the raw file's sha256 is the one `raw-lines.csv` gives.\n\
         \n\
         The data is published under CC BY 4.0.\n",
        name_en = b.name.en,
        uscc = b.uscc,
        month = b.month,
        date = b.data_date,
        url = b.url,
    );
    Localized::new(zh, en)
}

// browser.js - a real browser fills the demo's upload form and sends it:
// Debian's chromium, driven by playwright-core, picks a file in the
// <input type=file>, submits the form (multipart/form-data, as browsers
// make it), and the answer must name the file with the SHA-256 the test
// computed. A screenshot of the form with its file chosen is saved.
// Usage: node browser.js BASE_URL FILE SHA256 OUT_DIR
const { chromium } = require(process.env.CHOPIN_NPM_DIR + "/node_modules/playwright-core");

async function main() {
  const [base, file, sha256, out] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(base + "/upload-form");
    await page.setInputFiles("input[type=file]", file);
    await page.fill("input[name=note]", "from a browser");
    await page.screenshot({ path: out + "/upload-form.png" });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/uploads") && r.request().method() === "POST"),
      page.click("button[type=submit]"),
    ]);
    const status = response.status();
    const body = await response.json();
    const type = response.request().headers()["content-type"] || "";
    if (status !== 201 || !type.startsWith("multipart/form-data; boundary=")) {
      throw new Error(`status ${status}, request type ${type}: ${JSON.stringify(body)}`);
    }
    const stored = body.data.find((f) => f.field === "file");
    if (!stored || stored.sha256 !== sha256 || stored.original_name !== require("path").basename(file)) {
      throw new Error("the answer does not match the file: " + JSON.stringify(body));
    }
    // The file comes back from its URL, as the browser would show it.
    const back = await page.request.get(base + stored.url);
    const bytes = await back.body();
    const got = require("crypto").createHash("sha256").update(bytes).digest("hex");
    if (got !== sha256) throw new Error(`served back with SHA-256 ${got}`);
    console.log(`the browser uploaded ${stored.original_name} (${stored.size} bytes), stored as ${stored.stored_name}`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });

// Puppeteer must never download a browser: wa-sync drives the system Chromium (CHROME_PATH).
module.exports = { skipDownload: true };

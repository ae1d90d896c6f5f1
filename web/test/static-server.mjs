// A tiny static server for web/dist while kicer does not serve it yet: the
// page then calls kicer cross-origin (its config lists this origin in
// cors_origins) and is told where with ?server=URL.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Serves `dir` on 127.0.0.1 (`port` 0: any free one); resolves to { url, close }. */
export function serveDir(dir, port = 0) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dir, path === "/" ? "index.html" : path));
    if (!file.startsWith(normalize(dir))) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const { port: p } = server.address();
      resolve({ url: `http://127.0.0.1:${p}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

// `node web/test/static-server.mjs [PORT]` serves web/dist by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = new URL("../dist/", import.meta.url).pathname;
  serveDir(dir, Number(process.argv[2] ?? 0)).then(({ url }) => console.log(`serving ${dir} at ${url}`));
}

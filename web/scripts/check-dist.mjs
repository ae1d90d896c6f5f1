// Rebuilds the generated client and dist/ and fails when they differ from
// what is committed (CI runs this after `npm ci`).
import { execSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
execSync("npm run build", { cwd: web, stdio: "inherit" });
const diff = spawnSync("git", ["diff", "--exit-code", "--stat", "--", "src/gen", "dist"], { cwd: web, stdio: "inherit" });
const untracked = spawnSync("git", ["ls-files", "--others", "--exclude-standard", "--", "src/gen", "dist"], {
  cwd: web,
  encoding: "utf8",
});
if (diff.status !== 0 || untracked.stdout.trim() !== "") {
  if (untracked.stdout.trim()) console.error(`not committed:\n${untracked.stdout}`);
  console.error("web/dist differs from a fresh build: run npm ci && npm run build in web/ and commit");
  process.exit(1);
}
console.log("web/dist and web/src/gen match a fresh build");

// Builds STAC Browser from its npm package into browser/dist/ with browser/config.js
// (`make browser` runs it after `npm ci`). The package ships its sources and build setup, which
// expect to be the project folder (they import ../../node_modules/ol/ol.css): they are copied
// into browser/.stage/ with a node_modules link to this folder's, whose devDependencies are the
// package's build tools.
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const here = __dirname;
const stage = path.join(here, ".stage");
const pkg = path.dirname(require.resolve("@radiantearth/stac-browser/package.json"));

fs.rmSync(stage, { recursive: true, force: true });
fs.cpSync(pkg, stage, { recursive: true, filter: (src) => path.basename(src) !== "node_modules" });
fs.symlinkSync(path.join(here, "node_modules"), path.join(stage, "node_modules"), "dir");

const service = require.resolve("@vue/cli-service/bin/vue-cli-service.js");
execFileSync(
  process.execPath,
  [service, "build", "--dest", path.join(here, "dist"), `--CONFIG=${path.join(here, "config.js")}`],
  { cwd: stage, stdio: "inherit", env: { ...process.env, NODE_ENV: "production" } },
);
fs.rmSync(stage, { recursive: true, force: true });

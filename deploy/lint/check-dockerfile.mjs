// Project rules for the root Dockerfile, on top of dockerfile-utils' lint (deploy/check-dockerfile.sh):
// one dependency list, a non-root runtime, the port, the HEALTHCHECK, the OCI labels, and COPY
// sources that exist and are not excluded by .dockerignore.
// Usage: node check-dockerfile.mjs ROOT   (exit 1 with one line per problem)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { DockerfileParser } = require('dockerfile-ast');

const root = process.argv[2];
const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const problems = [];
const problem = (msg) => problems.push(msg);

// Stages: instructions after each FROM.
const stages = [];
for (const ins of dockerfile.getInstructions()) {
  const kw = ins.getKeyword();
  if (kw === 'FROM') stages.push({ from: ins.getArgumentsContent(), ins: [] });
  else if (stages.length) stages[stages.length - 1].ins.push(ins);
}
const initialArgs = new Map();
for (const a of dockerfile.getInitialARGs()) {
  for (const p of a.getProperties()) initialArgs.set(p.getName(), p.getValue());
}
const expand = (s) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, v) => initialArgs.get(v) ?? m);

if (stages.length < 2) problem('want a multi-stage build (a build stage and a runtime stage)');
for (const s of stages) {
  const image = expand(s.from.split(/\s+/)[0]);
  if (image !== 'debian:12-slim') problem(`stage FROM ${s.from}: base image is ${image}, want debian:12-slim`);
}
const build = stages[0] ?? { ins: [] };
const runtime = stages[stages.length - 1] ?? { ins: [] };
const of = (stage, kw) => stage.ins.filter((i) => i.getKeyword() === kw);
const content = (i) => i.getArgumentsContent() ?? '';

// One source of truth for packages.
const buildRuns = of(build, 'RUN').map(content).join('\n');
if (!/scripts\/install-deps\.sh/.test(buildRuns)) problem('build stage must install its packages with scripts/install-deps.sh');
const runtimeRuns = of(runtime, 'RUN').map(content).join('\n');
if (!/runtime-packages\.txt/.test(runtimeRuns)) problem('runtime stage must install packaging/runtime-packages.txt');
for (const stage of stages) {
  for (const run of of(stage, 'RUN')) {
    // "apt-get install [options] name..." written by hand would be a second package list.
    for (const m of content(run).matchAll(/apt-get\s+install((?:\s+(?:-[^\s]+|\\))*)\s+([a-z0-9][a-z0-9.+-]+)/g)) {
      problem(`RUN installs '${m[2]}' by name: packages come from scripts/packages.txt or packaging/runtime-packages.txt`);
    }
  }
}

// Non-root user in the runtime stage.
const users = of(runtime, 'USER').map(content);
if (!users.length) problem('runtime stage has no USER (it would run as root)');
else if (/^(0|root)(:|$)/.test(users[users.length - 1].trim())) problem(`runtime USER ${users[users.length - 1]} is root`);

const exposes = of(runtime, 'EXPOSE').flatMap((i) => content(i).split(/\s+/));
if (!exposes.some((p) => p.replace(/\/tcp$/, '') === '9355')) problem('runtime stage does not EXPOSE 9355');

const hcs = of(runtime, 'HEALTHCHECK').map(content);
if (hcs.length !== 1) problem(`want exactly one HEALTHCHECK in the runtime stage, found ${hcs.length}`);
else if (!/\/usr\/local\/bin\/healthcheck/.test(hcs[0])) problem('HEALTHCHECK must run /usr/local/bin/healthcheck');

const entry = of(runtime, 'ENTRYPOINT').map(content).join('');
if (!/^\s*\[\s*"\/usr\/bin\/redis_sentinel_exporter"\s*\]\s*$/.test(entry)) {
  problem('ENTRYPOINT must be ["/usr/bin/redis_sentinel_exporter"] (exec form: flags after the image name reach the binary)');
}

const labels = new Map();
for (const l of of(runtime, 'LABEL')) for (const p of l.getProperties()) labels.set(p.getName(), p.getValue());
for (const k of ['title', 'description', 'version', 'revision', 'created', 'source']) {
  if (!labels.has(`org.opencontainers.image.${k}`)) problem(`missing LABEL org.opencontainers.image.${k}`);
}

// COPY sources: exist, and are not excluded by .dockerignore.
const ignore = fs
  .readFileSync(path.join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const globToRe = (g) => {
  const body = g
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .split('**/')
    .map((part) => part.replace(/[.+^$()|[\]{}]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
    .join('(?:.*/)?');
  return new RegExp(`^${body}$`);
};
const ignored = (p) => {
  const parts = p.replace(/\/+$/, '').split('/');
  let out = false;
  for (const raw of ignore) {
    const neg = raw.startsWith('!');
    const re = globToRe(neg ? raw.slice(1) : raw);
    for (let i = 1; i <= parts.length; i++) {
      if (re.test(parts.slice(0, i).join('/'))) out = !neg;
    }
  }
  return out;
};
for (const stage of stages) {
  for (const c of [...of(stage, 'COPY'), ...of(stage, 'ADD')]) {
    if (/--from=/.test(c.getTextContent())) continue;
    const args = c.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith('--'));
    for (const src of args.slice(0, -1)) {
      if (src === '.') continue;
      if (!fs.existsSync(path.join(root, src))) problem(`COPY source ${src} does not exist`);
      else if (ignored(src)) problem(`COPY source ${src} is excluded by .dockerignore`);
    }
  }
}
for (const must of ['.git', 'build/', 'compose/.env']) {
  if (!ignored(must.replace(/\/$/, ''))) problem(`.dockerignore must exclude ${must}`);
}

if (problems.length) {
  for (const p of problems) console.error(`Dockerfile: ${p}`);
  process.exit(1);
}
console.log(`Dockerfile: ${stages.length} stages, runtime user ${users.at(-1)}, labels ${[...labels.keys()].length}: ok`);

// Structural checks of the deployment files, offline (no Docker engine, no cluster, no network).
// Run by the deploy/*.sh checks; each prints one line per problem and exits 1 on any.
//
//   node validate.mjs yaml FILE...                 every YAML document parses, no warnings
//   node validate.mjs json FILE...                 every file is JSON
//   node validate.mjs compose ROOT RENDERED        the output of `docker-compose config`: every
//                                                  bind-mounted file exists, every ${VAR} of the
//                                                  compose file is in compose/.env.example
//   node validate.mjs grafana ROOT                 provisioning files, and the dashboard if present
//   node validate.mjs kubernetes FILE...           kinds, apiVersions, required fields, cross refs
//   node validate.mjs prometheusrule RULES PR      PR's spec.groups equal the rule file's groups
//
// Paths the project's other owners add (rules/redis_sentinel.rules.yml,
// dashboards/redis-sentinel.json) are skipped with a message while absent (SKIP_ABSENT lists them).
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const YAML = require('yaml');

const problems = [];
const problem = (where, msg) => problems.push(`${where}: ${msg}`);
const notes = [];
const note = (msg) => notes.push(msg);
const SKIP_ABSENT = ['rules/redis_sentinel.rules.yml', 'dashboards/redis-sentinel.json'];

function parseYamlDocs(file) {
  const text = fs.readFileSync(file, 'utf8');
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    for (const e of d.errors) problem(file, `YAML error: ${e.message}`);
    for (const w of d.warnings) problem(file, `YAML warning: ${w.message}`);
    const value = d.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const get = (o, dotted) => dotted.split('.').reduce((v, k) => (isObj(v) ? v[k] : undefined), o);

// ---------------------------------------------------------------------------- yaml / json --
function cmdYaml(files) {
  for (const f of files) parseYamlDocs(f);
  return `${files.length} YAML file(s) parse`;
}
function cmdJson(files) {
  for (const f of files) {
    try {
      JSON.parse(fs.readFileSync(f, 'utf8'));
    } catch (e) {
      problem(f, `JSON error: ${e.message}`);
    }
  }
  return `${files.length} JSON file(s) parse`;
}

// ---------------------------------------------------------------------------- compose --
function cmdCompose(root, renderedFile) {
  const composeFile = path.join(root, 'compose/docker-compose.yml');
  const [rendered] = parseYamlDocs(renderedFile);
  const [source] = parseYamlDocs(composeFile);
  if (!isObj(rendered) || !isObj(rendered.services)) {
    problem(renderedFile, 'no services in the rendered compose file');
    return '';
  }
  let mounts = 0;
  for (const [name, svc] of Object.entries(rendered.services)) {
    for (const v of svc.volumes ?? []) {
      // Short syntax after `config`: SOURCE:TARGET[:MODE]; SOURCE absolute for bind mounts.
      const spec = typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v;
      if (!spec.source || !spec.source.startsWith('/')) continue; // named volume
      mounts++;
      const rel = path.relative(root, spec.source);
      if (!fs.existsSync(spec.source)) {
        if (SKIP_ABSENT.includes(rel)) {
          note(`SKIP mount ${rel} of service ${name}: not in the checkout yet (its owner adds it); checked once it exists`);
        } else {
          problem(`service ${name}`, `bind mount source ${spec.source} does not exist`);
        }
        continue;
      }
      if (rel.startsWith('..')) problem(`service ${name}`, `bind mount ${spec.source} is outside the checkout`);
      // A file must be mounted onto a file path and a directory onto a directory path.
      const isDir = fs.statSync(spec.source).isDirectory();
      if (!isDir && spec.target.endsWith('/')) problem(`service ${name}`, `file ${rel} mounted on directory path ${spec.target}`);
    }
    if (svc.build) {
      const ctx = svc.build.context;
      const df = path.join(ctx, svc.build.dockerfile ?? 'Dockerfile');
      if (!fs.existsSync(df)) problem(`service ${name}`, `build dockerfile ${df} does not exist`);
    }
    // Passwords never on a command line.
    for (const key of ['command', 'entrypoint']) {
      const c = svc[key];
      const text = Array.isArray(c) ? c.join(' ') : c ?? '';
      if (/pass(word)?|requirepass|auth/i.test(text)) problem(`service ${name}`, `${key} mentions a password: ${text}`);
    }
  }
  // Every volume named in the source file is declared.
  const declared = new Set(Object.keys(source.volumes ?? {}));
  for (const [name, svc] of Object.entries(source.services ?? {})) {
    for (const v of svc.volumes ?? []) {
      const src = typeof v === 'string' ? v.split(':')[0] : v.source;
      if (src && !src.startsWith('.') && !src.startsWith('/') && !declared.has(src)) {
        problem(`service ${name}`, `volume ${src} is not declared under volumes:`);
      }
    }
  }
  // Every variable the compose file uses is documented in .env.example.
  const text = fs.readFileSync(composeFile, 'utf8');
  const used = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
  const example = fs.readFileSync(path.join(root, 'compose/.env.example'), 'utf8');
  const documented = new Set([...example.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]));
  for (const v of used) if (!documented.has(v)) problem('compose/.env.example', `does not document ${v}`);
  for (const v of documented) if (!used.has(v)) problem('compose/.env.example', `documents ${v}, which the compose file does not use`);
  return `${Object.keys(rendered.services).length} services, ${mounts} bind mounts, ${used.size} variables documented`;
}

// ---------------------------------------------------------------------------- grafana --
function cmdGrafana(root) {
  const prov = path.join(root, 'compose/grafana/provisioning');
  const dsUids = new Set();
  const dsFiles = fs.readdirSync(path.join(prov, 'datasources')).filter((f) => /\.ya?ml$/.test(f));
  for (const f of dsFiles) {
    const file = path.join(prov, 'datasources', f);
    for (const doc of parseYamlDocs(file)) {
      if (doc.apiVersion !== 1) problem(file, 'apiVersion must be 1');
      if (!Array.isArray(doc.datasources) || !doc.datasources.length) problem(file, 'no datasources');
      for (const ds of doc.datasources ?? []) {
        for (const k of ['name', 'type', 'url', 'uid']) if (!ds[k]) problem(file, `datasource without ${k}`);
        if (ds.type === 'prometheus' && !/^http:\/\/prometheus:9090\/?$/.test(ds.url ?? '')) {
          problem(file, `Prometheus datasource url ${ds.url}: the compose service is http://prometheus:9090`);
        }
        if (ds.uid) dsUids.add(ds.uid);
      }
    }
  }
  const dashDirs = [];
  const dbFiles = fs.readdirSync(path.join(prov, 'dashboards')).filter((f) => /\.ya?ml$/.test(f));
  for (const f of dbFiles) {
    const file = path.join(prov, 'dashboards', f);
    for (const doc of parseYamlDocs(file)) {
      if (doc.apiVersion !== 1) problem(file, 'apiVersion must be 1');
      for (const p of doc.providers ?? []) {
        if (!p.name || p.type !== 'file' || !get(p, 'options.path')) problem(file, 'provider needs name, type: file and options.path');
        dashDirs.push(get(p, 'options.path'));
      }
      if (!(doc.providers ?? []).length) problem(file, 'no providers');
    }
  }
  // The compose file must mount the dashboard where a provider looks.
  const compose = parseYamlDocs(path.join(root, 'compose/docker-compose.yml'))[0];
  const gvols = get(compose, 'services.grafana.volumes') ?? [];
  const dashMount = gvols.find((v) => String(v).startsWith('../dashboards/redis-sentinel.json:'));
  if (!dashMount) problem('compose/docker-compose.yml', 'grafana does not mount ../dashboards/redis-sentinel.json');
  else {
    const target = String(dashMount).split(':')[1];
    if (!dashDirs.includes(path.posix.dirname(target))) {
      problem('compose/docker-compose.yml', `dashboard mounted at ${target}, but no provider reads ${path.posix.dirname(target)}`);
    }
  }

  const dash = path.join(root, 'dashboards/redis-sentinel.json');
  if (!fs.existsSync(dash)) {
    note('SKIP dashboards/redis-sentinel.json: not in the checkout yet (its owner adds it); checked once it exists');
    return `${dsFiles.length} datasource file(s), ${dbFiles.length} dashboard provider file(s); dashboard absent`;
  }
  let d;
  try {
    d = JSON.parse(fs.readFileSync(dash, 'utf8'));
  } catch (e) {
    problem(dash, `JSON error: ${e.message}`);
    return '';
  }
  if (!isObj(d)) {
    problem(dash, 'not a JSON object');
    return '';
  }
  if (typeof d.title !== 'string' || !d.title) problem(dash, 'no title');
  if (typeof d.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) problem(dash, 'uid missing or not 1-40 of [A-Za-z0-9_-]');
  if (typeof d.schemaVersion !== 'number') problem(dash, 'no numeric schemaVersion');
  if (d.__inputs) {
    problem(dash, 'has __inputs (exported "for sharing externally"): file provisioning does not resolve ${DS_...} inputs; export without that option');
  }
  const dsVars = new Set(
    (get(d, 'templating.list') ?? []).filter((v) => v.type === 'datasource').map((v) => v.name),
  );
  const checkDs = (where, ds) => {
    if (ds === undefined || ds === null) return;
    const ref = typeof ds === 'string' ? ds : ds.uid;
    const type = typeof ds === 'string' ? undefined : ds.type;
    if (type && !['prometheus', 'datasource', 'grafana', '__expr__'].includes(type)) problem(dash, `${where}: datasource type ${type}`);
    if (ref === undefined || ref === null || type === 'grafana' || type === 'datasource' || type === '__expr__') return;
    const v = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(ref);
    if (v) {
      if (!dsVars.has(v[1])) problem(dash, `${where}: datasource variable $${v[1]} is not a templating variable of type datasource`);
    } else if (!dsUids.has(ref) && ref !== 'Prometheus') {
      problem(dash, `${where}: datasource ${JSON.stringify(ds)} is neither a provisioned uid (${[...dsUids].join(', ')}) nor a variable`);
    }
  };
  const panels = [];
  const walk = (list) => {
    for (const p of list ?? []) {
      panels.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const r of d.rows ?? []) walk(r.panels);
  if (!panels.length) problem(dash, 'no panels');
  let exprs = 0;
  for (const p of panels) {
    const where = `panel ${JSON.stringify(p.title ?? p.id)}`;
    checkDs(where, p.datasource);
    if (p.type !== 'row' && p.type !== 'text' && !(p.targets ?? []).length && !(p.panels ?? []).length) {
      problem(dash, `${where} (${p.type}) has no targets`);
    }
    for (const t of p.targets ?? []) {
      checkDs(`${where} target ${t.refId}`, t.datasource);
      const dsType = (t.datasource && t.datasource.type) || (p.datasource && p.datasource.type) || 'prometheus';
      if (dsType === 'prometheus' && !(typeof t.expr === 'string' && t.expr.trim())) problem(dash, `${where} target ${t.refId} has no expr`);
      else exprs++;
    }
  }
  for (const v of get(d, 'templating.list') ?? []) {
    if (v.type === 'query') checkDs(`variable ${v.name}`, v.datasource);
  }
  return `${dsFiles.length} datasource file(s), ${dbFiles.length} provider file(s); dashboard "${d.title}": ${panels.length} panels, ${exprs} queries`;
}

// ---------------------------------------------------------------------------- kubernetes --
const KINDS = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  Service: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  ServiceAccount: 'v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
  PodMonitor: 'monitoring.coreos.com/v1',
  PrometheusRule: 'monitoring.coreos.com/v1',
};
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subset = (small, big) => isObj(small) && isObj(big) && Object.entries(small).every(([k, v]) => big[k] === v);

function checkPodSpec(where, spec, podLabels) {
  const containers = spec.containers ?? [];
  if (!containers.length) problem(where, 'no containers');
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const ports = new Set();
  const sc = spec.securityContext ?? {};
  for (const c of containers) {
    const cw = `${where} container ${c.name}`;
    if (!c.name || !DNS1123.test(c.name)) problem(cw, 'name missing or not DNS-1123');
    if (!c.image) problem(cw, 'no image');
    for (const p of c.ports ?? []) {
      if (!Number.isInteger(p.containerPort)) problem(cw, 'port without integer containerPort');
      if (p.name) ports.add(p.name);
      ports.add(p.containerPort);
    }
    for (const e of c.env ?? []) {
      if (!e.name) problem(cw, 'env entry without name');
      const ref = get(e, 'valueFrom.secretKeyRef');
      if (ref && (!ref.name || !ref.key)) problem(cw, `env ${e.name}: secretKeyRef needs name and key`);
      if (/PASSWORD/i.test(e.name ?? '') && e.value !== undefined) problem(cw, `env ${e.name} has a literal value: use a Secret`);
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) problem(cw, `volumeMount ${m.name} has no volume`);
      if (!m.mountPath) problem(cw, `volumeMount ${m.name} has no mountPath`);
    }
    for (const a of [...(c.args ?? []), ...(c.command ?? [])]) {
      const m = /^--redis\.password-file=(.+)$/.exec(a);
      if (m) {
        const mounted = (c.volumeMounts ?? []).some((vm) => m[1].startsWith(vm.mountPath.replace(/\/?$/, '/')));
        if (!mounted) problem(cw, `--redis.password-file=${m[1]} is not under a mounted volume`);
      }
      if (/password=/.test(a) && !/password-file=/.test(a)) problem(cw, `argument ${a} carries a password`);
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const port = get(c, `${probe}.httpGet.port`);
      if (c[probe] && port === undefined) problem(cw, `${probe} without httpGet.port`);
      if (port !== undefined && !ports.has(port)) problem(cw, `${probe} port ${port} is not a container port`);
    }
    const csc = c.securityContext ?? {};
    if (csc.allowPrivilegeEscalation !== false) problem(cw, 'securityContext.allowPrivilegeEscalation must be false');
    if (csc.readOnlyRootFilesystem !== true) problem(cw, 'securityContext.readOnlyRootFilesystem must be true');
    if (!(get(csc, 'capabilities.drop') ?? []).includes('ALL')) problem(cw, 'securityContext.capabilities.drop must contain ALL');
    if ((csc.runAsNonRoot ?? sc.runAsNonRoot) !== true) problem(cw, 'runAsNonRoot must be true');
  }
  for (const v of volumes.values()) {
    if (v.secret && !v.secret.secretName) problem(where, `volume ${v.name}: secret without secretName`);
    const mode = v.secret?.defaultMode;
    if (mode !== undefined && (!Number.isInteger(mode) || mode > 0o777 || (mode & 0o007) !== 0)) {
      problem(where, `volume ${v.name}: defaultMode ${mode} is not a mode without "other" bits (write it in decimal, e.g. 288 for 0440)`);
    }
  }
  return { labels: podLabels, ports };
}

function cmdKubernetes(files) {
  const objs = [];
  for (const f of files) {
    for (const doc of parseYamlDocs(f)) {
      if (!isObj(doc)) {
        problem(f, 'a document is not a mapping');
        continue;
      }
      if (doc.kind === 'Kustomization') continue;
      const where = `${path.basename(f)} ${doc.kind}/${get(doc, 'metadata.name')}`;
      if (!(doc.kind in KINDS)) problem(where, `unexpected kind ${doc.kind}`);
      else if (doc.apiVersion !== KINDS[doc.kind]) problem(where, `apiVersion ${doc.apiVersion}, want ${KINDS[doc.kind]}`);
      const name = get(doc, 'metadata.name');
      if (typeof name !== 'string' || !DNS1123.test(name) || name.length > 63) problem(where, 'metadata.name missing or not DNS-1123');
      if (get(doc, 'metadata.namespace') !== undefined) problem(where, 'metadata.namespace is set: the manifests are applied with -n NAMESPACE');
      objs.push({ doc, where, file: f });
    }
  }
  const workloads = [];
  for (const { doc, where } of objs) {
    if (doc.kind === 'Deployment' || doc.kind === 'StatefulSet') {
      const sel = get(doc, 'spec.selector.matchLabels');
      const labels = get(doc, 'spec.template.metadata.labels');
      if (!isObj(sel) || !Object.keys(sel).length) problem(where, 'spec.selector.matchLabels missing');
      else if (!subset(sel, labels)) problem(where, 'spec.selector.matchLabels do not match spec.template.metadata.labels');
      const spec = get(doc, 'spec.template.spec');
      if (!isObj(spec)) {
        problem(where, 'no spec.template.spec');
        continue;
      }
      workloads.push({ ...checkPodSpec(where, spec, labels), doc });
      if (doc.kind === 'StatefulSet') {
        const svc = objs.find((o) => o.doc.kind === 'Service' && o.doc.metadata.name === doc.spec.serviceName);
        if (!svc) problem(where, `serviceName ${doc.spec.serviceName} is not a Service of these manifests`);
        else if (get(svc.doc, 'spec.clusterIP') !== 'None') problem(where, `service ${doc.spec.serviceName} must be headless (clusterIP: None)`);
      }
    }
  }
  const services = [];
  for (const { doc, where } of objs) {
    if (doc.kind !== 'Service') continue;
    const sel = get(doc, 'spec.selector');
    const ports = get(doc, 'spec.ports') ?? [];
    if (!ports.length) problem(where, 'no spec.ports');
    const w = workloads.find((wl) => subset(sel, wl.labels));
    if (!w) problem(where, 'spec.selector matches no workload of these manifests');
    for (const p of ports) {
      if (!Number.isInteger(p.port)) problem(where, 'port without integer port');
      if (!p.name) problem(where, `port ${p.port} has no name (ServiceMonitors select ports by name)`);
      if (w && p.targetPort !== undefined && !w.ports.has(p.targetPort)) problem(where, `targetPort ${p.targetPort} is not a container port`);
    }
    services.push(doc);
  }
  for (const { doc, where } of objs) {
    if (doc.kind === 'ServiceMonitor') {
      const sel = get(doc, 'spec.selector.matchLabels');
      const svc = services.filter((s) => subset(sel, get(s, 'metadata.labels')));
      if (!svc.length) note(`${where}: spec.selector matches no Service of these files (fine if it targets another directory's)`);
      const eps = get(doc, 'spec.endpoints') ?? [];
      if (!eps.length) problem(where, 'no spec.endpoints');
      for (const e of eps) {
        if (!e.port) problem(where, 'endpoint without port (name)');
        else if (svc.length && !svc.some((s) => (s.spec.ports ?? []).some((p) => p.name === e.port))) {
          problem(where, `endpoint port ${e.port} is not a port name of the selected Service`);
        }
      }
    }
    if (doc.kind === 'PrometheusRule') {
      const groups = get(doc, 'spec.groups');
      if (!Array.isArray(groups) || !groups.length) problem(where, 'no spec.groups');
      for (const g of groups ?? []) {
        if (!g.name) problem(where, 'group without name');
        if (!Array.isArray(g.rules) || !g.rules.length) problem(where, `group ${g.name} has no rules`);
        for (const r of g.rules ?? []) {
          if (!!r.alert === !!r.record) problem(where, `group ${g.name}: a rule needs exactly one of alert and record`);
          if (typeof r.expr !== 'string' && typeof r.expr !== 'number') problem(where, `group ${g.name} rule ${r.alert ?? r.record}: no expr`);
        }
      }
    }
  }
  return `${objs.length} objects in ${files.length} file(s): ${[...new Set(objs.map((o) => o.doc.kind))].join(', ')}`;
}

// ---------------------------------------------------------------------------- prometheusrule --
function cmdPrometheusRule(rulesFile, prFile) {
  const [rules] = parseYamlDocs(rulesFile);
  const prs = parseYamlDocs(prFile);
  if (prs.length !== 1) problem(prFile, `want one document, found ${prs.length}`);
  const groups = get(prs[0], 'spec.groups');
  if (!isDeepStrictEqual(groups, rules?.groups)) problem(prFile, `spec.groups differ from the groups of ${rulesFile}`);
  return `spec.groups equal the ${rules?.groups?.length ?? 0} group(s) of ${path.basename(rulesFile)}`;
}

const [cmd, ...args] = process.argv.slice(2);
const commands = {
  yaml: () => cmdYaml(args),
  json: () => cmdJson(args),
  compose: () => cmdCompose(args[0], args[1]),
  grafana: () => cmdGrafana(args[0]),
  kubernetes: () => cmdKubernetes(args),
  prometheusrule: () => cmdPrometheusRule(args[0], args[1]),
};
if (!commands[cmd]) {
  console.error(`usage: validate.mjs ${Object.keys(commands).join('|')} ARGS...`);
  process.exit(2);
}
let summary = '';
try {
  summary = commands[cmd]();
} catch (e) {
  problem(cmd, e.stack ?? String(e));
}
for (const n of notes) console.error(`validate ${cmd}: ${n}`);
if (problems.length) {
  for (const p of problems) console.error(`validate ${cmd}: FAIL ${p}`);
  process.exit(1);
}
console.log(`validate ${cmd}: ok: ${summary}`);

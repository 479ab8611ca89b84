import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { kustomize, stackBinaryPath } from '@media-cluster/testkit';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { repoPath } from './support.js';

export const K8S_DIR = repoPath('deploy', 'k8s');

/** A Kubernetes object as YAML gives it: only the fields the checks read are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are walked by path in the checks
  spec?: any;
  data?: Record<string, string>;
}

/**
 * The schemas, one model per apiVersion/kind: `kubernetes-models` is generated from
 * the Kubernetes v1.36.0 OpenAPI, `@kubernetes-models/keda` from KEDA's v2.19 CRDs,
 * both compiled to ajv validators (deploy/k8s/README.md, "What is checked").
 */
// biome-ignore lint/suspicious/noExplicitAny: each model takes its own object type; the table is keyed by apiVersion/kind
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** Where a model's TypeScript interface lives: the same package, at its apiVersion/kind. */
const typeModule = (key: string) =>
  key.startsWith('keda.sh/') ? `@kubernetes-models/keda/${key}` : `kubernetes-models/${key}`;

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};
const defaultHost = ts.createCompilerHost(COMPILER_OPTIONS);
const declarations = new Map<string, ts.SourceFile>();

/**
 * Fields the schemas do not know, the first of each object, one line each ("" when none). The Kubernetes
 * OpenAPI leaves objects open, so the ajv validators accept a misspelt field (it
 * would be dropped, or refused by `kubectl apply`'s strict field validation). The
 * same packages ship each object as a TypeScript interface: every manifest is
 * type-checked as an object literal of its interface, whose excess-property check
 * names any field that is not in the schema, at any depth.
 */
export function unknownFields(docs: readonly Manifest[]): string {
  const file = join(repoPath('observability', 'test'), '__k8s-manifests__.ts');
  const lines = docs.map((doc, i) => {
    const key = `${doc.apiVersion}/${doc.kind}`;
    if (!MODELS[key]) throw new Error(`no type for ${key} (add it to k8s-support.ts)`);
    return `export const m${i}: import('${typeModule(key)}').I${doc.kind} = ${JSON.stringify(doc)};`;
  });
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const source = ts.createSourceFile(file, lines.join('\n'), ts.ScriptTarget.ES2022, true);
  host.getSourceFile = (name, ...rest) => {
    if (name === file) return source;
    // The models' declaration files are the same for every call: parsed once per test file.
    let parsed = declarations.get(name);
    if (!parsed) {
      parsed = defaultHost.getSourceFile(name, ...rest);
      if (parsed) declarations.set(name, parsed);
    }
    return parsed;
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram({ rootNames: [file], options: COMPILER_OPTIONS, host });
  return ts
    .getPreEmitDiagnostics(program, source)
    .map((d) => {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
      const doc = docs[line] as Manifest;
      return `${label(doc)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    })
    .join('\n');
}

/** Schema errors of one object ("" when valid); an unknown apiVersion/kind is an error too. */
export function schemaErrors(doc: Manifest): string {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return `no schema for ${doc.apiVersion} ${doc.kind} (add its model to k8s-support.ts)`;
  try {
    new Model(doc.kind === 'Secret' ? unwrapSecretData(doc) : doc).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * kustomize wraps long base64 values over lines; the API server decodes them as they
 * are (Go's base64 skips newlines), but the schema's `byte` format wants one line.
 */
function unwrapSecretData(doc: Manifest): Manifest {
  const data = Object.fromEntries(Object.entries(doc.data ?? {}).map(([k, v]) => [k, v.replace(/\n/g, '')]));
  return { ...doc, data };
}

export const label = (doc: Manifest) => `${doc.kind}/${doc.metadata?.name}`;

export function parseManifests(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length > 0) throw new Error(`${source} document ${i + 1}: ${d.errors[0]?.message}`);
    return d.toJS() as Manifest;
  });
}

/** Every kustomization folder under deploy/k8s (base, overlays, components), relative to it. */
export function kustomizations(): string[] {
  return readdirSync(K8S_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => basename(f) === 'kustomization.yaml')
    .map((f) => dirname(f))
    .sort();
}

/** The kustomizations `kustomize build` can render on their own (components cannot). */
export function buildable(): string[] {
  return kustomizations().filter(
    (dir) => !/^kind: Component$/m.test(readFileSync(join(K8S_DIR, dir, 'kustomization.yaml'), 'utf8')),
  );
}

/** The YAML files a kustomization lists under `resources:` (folders left out), parsed. */
export function resourceFiles(dir: string): { file: string; docs: Manifest[] }[] {
  const kustomization = parseManifests(
    readFileSync(join(K8S_DIR, dir, 'kustomization.yaml'), 'utf8'),
    dir,
  )[0] as unknown as { resources?: string[] };
  return (kustomization.resources ?? [])
    .filter((r) => r.endsWith('.yaml'))
    .map((r) => {
      const file = join(dir, r);
      return { file, docs: parseManifests(readFileSync(join(K8S_DIR, file), 'utf8'), file) };
    });
}

/** Why `kustomize build` cannot run here, or undefined when it can. */
export function kustomizeUnavailable(): string | undefined {
  try {
    const binary = stackBinaryPath('kustomize');
    return existsSync(binary)
      ? undefined
      : `${binary} is not built (the set-up builds it from deploy/k8s/kustomize)`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `kustomize build deploy/k8s/<dir>` (or an absolute folder), parsed; a failed build throws with kustomize's reason. */
export async function render(dir: string): Promise<Manifest[]> {
  const result = await kustomize(['build', isAbsolute(dir) ? dir : join(K8S_DIR, dir)]);
  if (result.exitCode !== 0) throw new Error(`kustomize build ${dir} failed:\n${result.stderr}`);
  return parseManifests(result.stdout, `kustomize build ${dir}`);
}

/** The one object of a kind and name (names compared without kustomize's hash suffix). */
export function find(docs: Manifest[], kind: string, name: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && baseName(d.metadata.name) === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0] as Manifest;
}

/** `media-cluster-env-5t8g9m` -> `media-cluster-env`: kustomize's generator suffix is 10 chars. */
export const baseName = (name: string) => name.replace(/-[a-z0-9]{10}$/, '');

/** Secret data, decoded. */
export function secretData(secret: Manifest): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v.replace(/\n/g, ''), 'base64').toString('utf8'),
    ]),
  );
}

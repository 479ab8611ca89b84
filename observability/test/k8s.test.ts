import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queueNames } from '@media-cluster/queue';
import { makeTempDir, removeTempDir } from '@media-cluster/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  baseName,
  buildable,
  find,
  K8S_DIR,
  kustomizations,
  kustomizeUnavailable,
  label,
  type Manifest,
  parseManifests,
  render,
  resourceFiles,
  schemaErrors,
  secretData,
  unknownFields,
} from './k8s-support.js';
import { dotEnv, readRepoFile } from './support.js';

// biome-ignore lint/suspicious/noExplicitAny: container specs are walked by path
type Container = any;

const containersOf = (d: Manifest): Container[] => d.spec.template.spec.containers;
const envOf = (c: Container, name: string) =>
  (c.env as { name: string; value?: string; valueFrom?: Container }[]).find((e) => e.name === name);

/** The stream of every shard and the group the queue builds from a prefix. */
function queueStreams(prefix: string, shards: number): { streams: string[]; group: string } {
  const names = queueNames(prefix, { shards });
  return { streams: names.shards.map((s) => s.stream), group: names.group };
}

describe('deploy/k8s manifests as written', () => {
  it.each(kustomizations())('%s: every listed resource file is valid against its schema', (dir) => {
    for (const { file, docs } of resourceFiles(dir)) {
      for (const doc of docs) expect(schemaErrors(doc), `${file}: ${label(doc)}`).toBe('');
    }
  });

  it('the schemas catch broken objects (the check can fail)', () => {
    const [deployment] = parseManifests(readRepoFile('deploy/k8s/base/worker-deployment.yaml'), 'worker');
    const port = structuredClone(deployment) as Manifest;
    containersOf(port)[0].ports[0].containerPort = 'metrics';
    expect(schemaErrors(port)).toMatch(/containerPort must be integer/);
    const noName = structuredClone(deployment) as Manifest;
    delete containersOf(noName)[0].name;
    expect(schemaErrors(noName)).toMatch(/containers\/0 must have required property name/);
    const quantity = structuredClone(deployment) as Manifest;
    containersOf(quantity)[0].resources.limits.memory = '1.5 GB';
    expect(schemaErrors(quantity)).toMatch(/memory must match format "quantity"/);

    const [scaled] = parseManifests(readRepoFile('deploy/k8s/base/worker-scaledobject.yaml'), 'so');
    const badScaled = structuredClone(scaled) as Manifest;
    badScaled.spec.minReplicaCount = 'one';
    expect(schemaErrors(badScaled)).toMatch(/minReplicaCount must be integer/);
    const noTarget = structuredClone(scaled) as Manifest;
    delete noTarget.spec.scaleTargetRef;
    expect(schemaErrors(noTarget)).toMatch(/spec must have required property scaleTargetRef/);
    expect(schemaErrors({ ...(scaled as Manifest), apiVersion: 'keda.sh/v2' })).toMatch(/no schema/);
  });

  it('names fields the schemas do not know (misspelt or misplaced), at any depth', () => {
    const docs = kustomizations().flatMap((dir) => resourceFiles(dir).flatMap((f) => f.docs));
    expect(unknownFields(docs)).toBe('');

    const [deployment] = parseManifests(readRepoFile('deploy/k8s/base/worker-deployment.yaml'), 'worker');
    const grace = structuredClone(deployment) as Manifest;
    grace.spec.template.spec.terminationGracePeriodSecond = 35;
    const probe = structuredClone(deployment) as Manifest;
    containersOf(probe)[0].readinessProbe.httpGet.paht = '/ready';
    const [scaled] = parseManifests(readRepoFile('deploy/k8s/base/worker-scaledobject.yaml'), 'so');
    const misplaced = structuredClone(scaled) as Manifest;
    misplaced.spec.triggers[0].lagCount = '10';
    const errors = unknownFields([grace, probe, misplaced]).split('\n');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(
      /^Deployment\/worker: .*terminationGracePeriodSecond.* does not exist in type 'IPodSpec'/,
    );
    expect(errors[1]).toMatch(/^Deployment\/worker: .*paht.* does not exist in type 'IHTTPGetAction'/);
    expect(errors[2]).toMatch(/^ScaledObject\/worker: .*lagCount.* does not exist in type 'IScaleTriggers'/);
  });

  it("the collector's config is the repo's otel-collector-config.yaml, byte for byte", () => {
    const copy = readFileSync(join(K8S_DIR, 'base', 'otel-collector-config.yaml'), 'utf8');
    expect(
      copy === readRepoFile('otel-collector-config.yaml'),
      'deploy/k8s/base/otel-collector-config.yaml differs from the repo file: ' +
        'cp otel-collector-config.yaml deploy/k8s/base/otel-collector-config.yaml',
    ).toBe(true);
  });
});

const unavailable = kustomizeUnavailable();
if (unavailable) {
  process.stderr.write(`[k8s] skipping the kustomize renders: ${unavailable}\n`);
}

describe.skipIf(unavailable !== undefined)(
  'kustomize build (the CLI built from deploy/k8s/kustomize)',
  () => {
    it.each(buildable())(
      '%s renders, and every object is valid against its schema, with no unknown field',
      async (dir) => {
        const docs = await render(dir);
        expect(docs.length).toBeGreaterThan(10);
        for (const doc of docs) expect(schemaErrors(doc), `${dir}: ${label(doc)}`).toBe('');
        expect(unknownFields(docs)).toBe('');
      },
    );

    it('a broken kustomization fails the build with the reason (the render can fail)', async () => {
      const dir = makeTempDir('k8s');
      try {
        // The mistake kustomize exists to catch: a replacement aimed at a trigger that is not there.
        writeFileSync(
          join(dir, 'kustomization.yaml'),
          [
            'resources: [scaledobject.yaml]',
            'configMapGenerator: [{ name: queue, literals: [QUEUE_STREAM=s] }]',
            'replacements:',
            '  - source: { kind: ConfigMap, name: queue, fieldPath: data.QUEUE_STREAM }',
            '    targets:',
            '      - select: { kind: ScaledObject }',
            "        fieldPaths: ['spec.triggers.[name=no-such-trigger].metadata.stream']",
          ].join('\n'),
        );
        writeFileSync(
          join(dir, 'scaledobject.yaml'),
          readRepoFile('deploy/k8s/base/worker-scaledobject.yaml'),
        );
        await expect(render(dir)).rejects.toThrow(/no-such-trigger/);
      } finally {
        removeTempDir(dir);
      }
    });

    describe('overlays/local', () => {
      let docs: Manifest[];
      let secret: Manifest;
      let secrets: Record<string, string>;
      let configMaps: Map<string, Record<string, string>>;
      let api: Manifest;
      let worker: Manifest;
      let collector: Manifest;
      let deployments: Manifest[];
      beforeAll(async () => {
        docs = await render('overlays/local');
        secret = find(docs, 'Secret', 'media-cluster');
        secrets = secretData(secret);
        configMaps = new Map(
          docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data ?? {}]),
        );
        api = find(docs, 'Deployment', 'api');
        worker = find(docs, 'Deployment', 'worker');
        collector = find(docs, 'Deployment', 'otel-collector');
        deployments = [api, worker, collector];
      });

      it('puts everything in one namespace and pulls the images from the local registry', () => {
        expect(new Set(docs.filter((d) => d.kind !== 'Namespace').map((d) => d.metadata.namespace))).toEqual(
          new Set(['media-cluster']),
        );
        expect(containersOf(api)[0].image).toBe('localhost:5001/media-cluster-api:dev');
        expect(containersOf(worker)[0].image).toBe('localhost:5001/media-cluster-worker:dev');
        expect(containersOf(collector)[0].image).toBe(
          `otel/opentelemetry-collector-contrib:${dotEnv().OTEL_COLLECTOR_VERSION}`,
        );
      });

      it('every Secret and ConfigMap reference resolves to a key that is there', () => {
        for (const d of deployments) {
          for (const c of containersOf(d)) {
            for (const from of c.envFrom ?? []) {
              expect(
                configMaps.has(from.configMapRef.name),
                `${label(d)} envFrom ${from.configMapRef.name}`,
              ).toBe(true);
            }
            for (const e of c.env ?? []) {
              const secretRef = e.valueFrom?.secretKeyRef;
              if (secretRef) {
                expect(secretRef.name, `${label(d)} ${e.name}`).toBe(secret.metadata.name);
                if (!secretRef.optional)
                  expect(secrets, `${label(d)} ${e.name}`).toHaveProperty(secretRef.key);
              }
              const mapRef = e.valueFrom?.configMapKeyRef;
              if (mapRef)
                expect(configMaps.get(mapRef.name), `${label(d)} ${e.name}`).toHaveProperty(mapRef.key);
            }
          }
          for (const v of d.spec.template.spec.volumes ?? []) {
            if (v.configMap) expect(configMaps.has(v.configMap.name), `${label(d)} ${v.name}`).toBe(true);
            if (v.persistentVolumeClaim)
              find(docs, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
          }
        }
      });

      it('api and worker: HOST=0.0.0.0, the URLs and METRICS_TOKEN from the Secret', () => {
        const shared = configMaps.get(containersOf(api)[0].envFrom[0].configMapRef.name) ?? {};
        expect(shared.HOST).toBe('0.0.0.0');
        expect(shared.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4317');
        for (const d of [api, worker]) {
          const c = containersOf(d)[0];
          expect(c.envFrom.map((f: Container) => f.configMapRef.name)).toContain(
            containersOf(api)[0].envFrom[0].configMapRef.name,
          );
          for (const name of ['REDIS_URL', 'DATABASE_URL', 'METRICS_TOKEN', 'REDIS_CLUSTER_NODES']) {
            expect(envOf(c, name)?.valueFrom?.secretKeyRef?.key, `${label(d)} ${name}`).toBe(name);
          }
          expect(envOf(c, 'REDIS_CLUSTER_NODES')?.valueFrom.secretKeyRef.optional).toBe(true);
        }
        expect(envOf(containersOf(api)[0], 'API_KEYS')?.valueFrom?.secretKeyRef?.key).toBe('API_KEYS');
        expect(secrets.METRICS_TOKEN?.length).toBeGreaterThanOrEqual(16); // the services' minimum
      });

      it('probes /health (liveness) and /ready (readiness) on PORT and WORKER_METRICS_PORT', () => {
        for (const [d, portVar] of [
          [api, 'PORT'],
          [worker, 'WORKER_METRICS_PORT'],
        ] as const) {
          const c = containersOf(d)[0];
          const port = Number(envOf(c, portVar)?.value);
          const named = (name: string) => c.ports.find((p: Container) => p.name === name)?.containerPort;
          for (const [probe, path] of [
            ['livenessProbe', '/health'],
            ['startupProbe', '/health'],
            ['readinessProbe', '/ready'],
          ]) {
            const get = c[probe as string]?.httpGet;
            expect(get?.path, `${label(d)} ${probe}`).toBe(path);
            expect(named(get.port), `${label(d)} ${probe} port`).toBe(port);
          }
        }
      });

      it('grace periods outlast the drain: terminationGracePeriodSeconds > preStop + SHUTDOWN_GRACE_MS', () => {
        for (const d of [api, worker]) {
          const c = containersOf(d)[0];
          const drainMs = Number(envOf(c, 'SHUTDOWN_GRACE_MS')?.value);
          const preStopMs = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
          expect(drainMs, label(d)).toBeGreaterThan(0);
          // 5 s left for closing Redis/Postgres and flushing telemetry.
          expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000, label(d)).toBeGreaterThanOrEqual(
            preStopMs + drainMs + 5_000,
          );
        }
        expect(Number(envOf(containersOf(worker)[0], 'SHUTDOWN_GRACE_MS')?.value)).toBe(25_000);
      });

      it('every container has CPU and memory requests and limits', () => {
        for (const d of deployments) {
          for (const c of containersOf(d)) {
            for (const kind of ['requests', 'limits']) {
              expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${label(d)} ${kind}`).toEqual([
                'cpu',
                'memory',
              ]);
            }
          }
        }
      });

      it('the api scales by an HPA on CPU, with no replica count of its own to fight it', () => {
        const hpa = find(docs, 'HorizontalPodAutoscaler', 'api');
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
        expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
        expect(api.spec.replicas).toBeUndefined();
        expect(worker.spec.replicas).toBeUndefined();
      });

      it('KEDA scales the workers on the lag of the stream and group the queue uses', () => {
        const scaled = find(docs, 'ScaledObject', 'worker');
        expect(scaled.spec.scaleTargetRef.name).toBe(worker.metadata.name);
        const [trigger] = scaled.spec.triggers;
        expect(trigger.type).toBe('redis-streams');
        expect(Number(trigger.metadata.lagCount)).toBeGreaterThan(0);

        const queue = configMaps.get(
          envOf(containersOf(worker)[0], 'QUEUE_PREFIX')?.valueFrom?.configMapKeyRef.name,
        );
        const { streams, group } = queueStreams(queue?.QUEUE_PREFIX ?? '', Number(queue?.QUEUE_SHARDS));
        expect(trigger.metadata.stream).toBe(queue?.QUEUE_STREAM);
        expect(trigger.metadata.consumerGroup).toBe(queue?.QUEUE_GROUP);
        // One trigger per stream (QUEUE_SHARDS > 1 has several), each on the queue's group.
        const watched = scaled.spec.triggers.filter((t: Container) => t.type.startsWith('redis'));
        expect(
          {
            streams: watched.map((t: Container) => t.metadata.stream),
            groups: [...new Set(watched.map((t: Container) => t.metadata.consumerGroup))],
          },
          'deploy/k8s/base/kustomization.yaml: QUEUE_STREAM / QUEUE_GROUP must be what @media-cluster/queue builds from QUEUE_PREFIX and QUEUE_SHARDS',
        ).toEqual({ streams, groups: [group] });

        const auth = find(docs, 'TriggerAuthentication', trigger.authenticationRef.name);
        for (const ref of auth.spec.secretTargetRef) {
          expect(ref.name).toBe(secret.metadata.name);
          expect(secrets).toHaveProperty(ref.key);
        }
        // KEDA takes host:port, not a URL.
        expect(secrets.REDIS_ADDRESS).toMatch(/^[^:/]+:\d+$/);
      });

      it('the PodDisruptionBudgets and Services select the pods they are for', () => {
        for (const [kind, name, d] of [
          ['PodDisruptionBudget', 'worker', worker],
          ['PodDisruptionBudget', 'api', api],
          ['Service', 'api', api],
          ['Service', 'otel-collector', collector],
        ] as const) {
          const selector = find(docs, kind, name).spec.selector;
          expect(d.spec.template.metadata.labels, `${kind}/${name}`).toMatchObject(
            selector.matchLabels ?? selector,
          );
        }
        expect(find(docs, 'PodDisruptionBudget', 'worker').spec.maxUnavailable).toBe(1);
        for (const [service, d] of [
          ['api', api],
          ['otel-collector', collector],
        ] as const) {
          const names = containersOf(d)[0].ports.map((p: Container) => p.name);
          for (const port of find(docs, 'Service', service).spec.ports)
            expect(names).toContain(port.targetPort);
        }
      });

      it('the collector runs the repo config, its memory_limiter sized from its own limit', () => {
        const config = find(docs, 'ConfigMap', 'otel-collector-config');
        expect(config.data?.['config.yaml']).toBe(readRepoFile('otel-collector-config.yaml'));
        const c = containersOf(collector)[0];
        expect(envOf(c, 'OTEL_COLLECTOR_MEMORY_LIMIT_MIB')?.valueFrom.resourceFieldRef).toEqual({
          containerName: c.name,
          resource: 'limits.memory',
          divisor: '1Mi',
        });
        const mount = c.volumeMounts.find((m: Container) => m.name === 'config');
        expect(c.args).toContain(`--config=${mount.mountPath}/config.yaml`);
        const ports = c.ports.map((p: Container) => p.containerPort);
        // The config's defaults: OTLP gRPC/HTTP, Prometheus exporter, health_check.
        expect(ports).toEqual(expect.arrayContaining([4317, 4318, 8889, 13133]));
        expect(
          configMaps.get(baseNameOf(configMaps, 'otel-collector-env'))?.JAEGER_OTLP_ENDPOINT,
        ).toBeTruthy();
      });
    });

    it('overlays/local-redis-cluster: KEDA reads the cluster through REDIS_CLUSTER_NODES', async () => {
      const docs = await render('overlays/local-redis-cluster');
      const secrets = secretData(find(docs, 'Secret', 'media-cluster'));
      const [trigger] = find(docs, 'ScaledObject', 'worker').spec.triggers;
      expect(trigger.type).toBe('redis-cluster-streams');
      const auth = find(docs, 'TriggerAuthentication', 'redis-queue');
      const addresses = auth.spec.secretTargetRef.find((r: Container) => r.parameter === 'addresses');
      expect(addresses?.key).toBe('REDIS_CLUSTER_NODES');
      expect(secrets.REDIS_CLUSTER_NODES).toMatch(/^[^:/,]+:\d+(,[^:/,]+:\d+)*$/);
    });
  },
);

function baseNameOf(configMaps: Map<string, unknown>, name: string): string {
  const found = [...configMaps.keys()].find((k) => baseName(k) === name);
  if (!found) throw new Error(`no ConfigMap ${name}`);
  return found;
}

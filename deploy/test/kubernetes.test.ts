import t, { type Test } from 'tap'
import { Deployment } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1'
import { kubectlMissing, kustomize, readRepoFile, type KubeObject } from './tools.js'

const BASE = 'deploy/k8s/base'
const PRODUCTION = 'deploy/k8s/overlays/production'
const SERVICES = ['auth', 'totp', 'user']

/** The schema of every kind we render, by apiVersion and kind. */
const MODELS: Record<string, new (data: any) => { validate: () => void }> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1 Ingress': Ingress,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Namespace': Namespace,
  'v1 Service': Service
}

/** Every test here renders the manifests with kubectl, and skips, saying why, without it. */
const noKubectl = kubectlMissing()

const rendered = new Map<string, KubeObject[]>()

/** The objects of a kustomization, rendered once per test file. */
function render (t: Test, dir: string): KubeObject[] {
  const cached = rendered.get(dir)
  if (cached) return cached

  const result = kustomize(dir)
  t.equal(result.status, 0, `kubectl kustomize ${dir}: ${result.stderr}`)
  rendered.set(dir, result.objects)
  return result.objects
}

function ofKind (objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((object) => object.kind === kind)
}

function containersOf (deployment: KubeObject): any[] {
  return deployment.spec.template.spec.containers
}

function podLabels (deployment: KubeObject): Record<string, string> {
  return deployment.spec.template.metadata.labels
}

/** Whether a matchLabels selector selects a set of labels. */
function selects (matchLabels: Record<string, string> | undefined, labels: Record<string, string>) {
  return Object.entries(matchLabels ?? {}).every(([key, value]) => labels[key] === value)
}

function validationError (object: KubeObject): string | null {
  const Model = MODELS[`${object.apiVersion} ${object.kind}`]
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`
  try {
    new Model(object).validate()
    return null
  } catch (error) {
    return (error as Error).message
  }
}

for (const dir of [BASE, PRODUCTION]) {
  t.test(`${dir} renders, and every object validates against its Kubernetes schema`,
    { skip: noKubectl }, async (t) => {
      const objects = render(t, dir)

      t.ok(objects.length > 0, 'objects rendered')
      for (const object of objects) {
        const error = validationError(object)
        t.equal(error, null, `${object.kind}/${object.metadata.name}`)
      }
    })
}

t.test('the schema check refuses an object ' +
  'that breaks its schema', { skip: noKubectl }, async (t) => {
  const deployment = structuredClone(ofKind(render(t, BASE), 'Deployment')[0] as KubeObject)
  deployment.spec.replicas = 'two'
  t.match(validationError(deployment), /replicas must be integer/)
})

t.test('no Secret is committed, ' +
  'and every Secret the pods read is documented', { skip: noKubectl }, async (t) => {
  const readme = readRepoFile('deploy/README.md')
  for (const dir of [BASE, PRODUCTION]) {
    const objects = render(t, dir)
    t.equal(ofKind(objects, 'Secret').length, 0, `${dir} renders no Secret`)

    const names = ofKind(objects, 'Deployment').flatMap(containersOf)
      .flatMap((container) => container.envFrom ?? [])
      .flatMap((source: any) => source.secretRef?.name ?? [])
    t.ok(names.length >= 4, 'the services read Secrets')
    for (const name of new Set(names)) {
      t.match(readme, new RegExp(`create secret generic ${name}\\b`), `how to create ${name}`)
    }
  }
})

t.test('every ConfigMap a pod reads is rendered beside it', { skip: noKubectl }, async (t) => {
  for (const dir of [BASE, PRODUCTION]) {
    const objects = render(t, dir)
    const maps = new Set(ofKind(objects, 'ConfigMap').map((map) => map.metadata.name))
    for (const container of ofKind(objects, 'Deployment').flatMap(containersOf)) {
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) t.ok(maps.has(source.configMapRef.name), source.configMapRef.name)
      }
    }
  }
})

t.test('every setting in the ConfigMaps ' +
  'is one the README documents', { skip: noKubectl }, async (t) => {
  const table = readRepoFile('README.md').split('\n').filter((line) => line.startsWith('| `'))
  const documented = new Set(table.flatMap((line) =>
    [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1])))

  const keys = ofKind(render(t, BASE), 'ConfigMap').flatMap((map) => Object.keys(map.data ?? {}))
  t.ok(keys.length > 0)
  for (const key of keys) t.ok(documented.has(key), `${key} is in the Configuration table`)
})

t.test('the services are probed on /readyz for readiness and /healthz for liveness',
  { skip: noKubectl }, async (t) => {
    for (const dir of [BASE, PRODUCTION]) {
      for (const deployment of ofKind(render(t, dir), 'Deployment')) {
        for (const container of containersOf(deployment)) {
          const where = `${dir} ${deployment.metadata.name}`
          t.ok(container.readinessProbe?.httpGet, `${where}: readiness probe`)
          t.ok(container.livenessProbe?.httpGet, `${where}: liveness probe`)
          if (!SERVICES.includes(deployment.metadata.name)) continue
          t.equal(container.readinessProbe?.httpGet?.path, '/readyz', where)
          t.equal(container.livenessProbe?.httpGet?.path, '/healthz', where)
        }
      }
    }
  })

t.test('every container has resource requests and limits', { skip: noKubectl }, async (t) => {
  for (const dir of [BASE, PRODUCTION]) {
    for (const deployment of ofKind(render(t, dir), 'Deployment')) {
      for (const container of containersOf(deployment)) {
        const where = `${dir} ${deployment.metadata.name}`
        for (const bound of ['requests', 'limits']) {
          t.ok(container.resources?.[bound]?.cpu, `${where}: cpu ${bound}`)
          t.ok(container.resources?.[bound]?.memory, `${where}: memory ${bound}`)
        }
      }
    }
  }
})

t.test('every container runs as non-root on a read-only root, ' +
  'with no privilege escalation and no capabilities', { skip: noKubectl }, async (t) => {
  for (const dir of [BASE, PRODUCTION]) {
    for (const deployment of ofKind(render(t, dir), 'Deployment')) {
      const pod = deployment.spec.template.spec
      for (const container of containersOf(deployment)) {
        const where = `${dir} ${deployment.metadata.name}`
        const context = container.securityContext ?? {}
        t.ok(context.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${where}: runAsNonRoot`)
        t.notSame(context.runAsUser ?? pod.securityContext?.runAsUser, 0, `${where}: not uid 0`)
        t.equal(context.readOnlyRootFilesystem, true, `${where}: read-only root`)
        t.equal(context.allowPrivilegeEscalation, false, `${where}: no privilege escalation`)
        t.same(context.capabilities?.drop, ['ALL'], `${where}: drops every capability`)
        t.notOk(context.capabilities?.add, `${where}: adds none`)
      }
    }
  }
})

t.test('production runs two or more replicas of everything, also when scaled in',
  { skip: noKubectl }, async (t) => {
    const objects = render(t, PRODUCTION)
    const deployments = ofKind(objects, 'Deployment')

    t.same(deployments.map((d) => d.metadata.name).sort(), ['auth', 'gateway', 'totp', 'user'])
    for (const deployment of deployments) {
      t.ok(deployment.spec.replicas >= 2, `${deployment.metadata.name}: replicas`)
    }
    for (const autoscaler of ofKind(objects, 'HorizontalPodAutoscaler')) {
      t.ok(autoscaler.spec.minReplicas >= 2, `${autoscaler.metadata.name}: minReplicas`)
    }
  })

t.test('every Deployment has an autoscaler ' +
  'and a disruption budget', { skip: noKubectl }, async (t) => {
  for (const dir of [BASE, PRODUCTION]) {
    const objects = render(t, dir)
    const autoscalers = ofKind(objects, 'HorizontalPodAutoscaler')
    const budgets = ofKind(objects, 'PodDisruptionBudget')

    for (const deployment of ofKind(objects, 'Deployment')) {
      const name = deployment.metadata.name
      const scaled = autoscalers.filter(({ spec }) =>
        spec.scaleTargetRef.kind === 'Deployment' && spec.scaleTargetRef.name === name)
      const budgeted = budgets.filter(({ spec }) =>
        selects(spec.selector?.matchLabels, podLabels(deployment)))
      t.equal(scaled.length, 1, `${dir} ${name}: one autoscaler`)
      t.equal(budgeted.length, 1, `${dir} ${name}: one disruption budget`)
      t.ok(scaled[0]?.spec.maxReplicas > scaled[0]?.spec.minReplicas, `${name}: room to scale`)
    }
  }
})

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> }
  namespaceSelector?: { matchLabels?: Record<string, string> }
  ipBlock?: { cidr: string }
}

/** A peer of a NetworkPolicy rule, as "pod:NAME", "namespace:NAME" or "ip:CIDR". */
function describePeer (peer: Peer): string {
  const pod = peer.podSelector?.matchLabels?.['app.kubernetes.io/name']
  const namespace = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']
  if (peer.ipBlock) return `ip:${peer.ipBlock.cidr}`
  const parts = [namespace && `namespace:${namespace}`, pod && `pod:${pod}`].filter(Boolean)
  const matchesAll = (peer.podSelector && !pod) || (peer.namespaceSelector && !namespace)
  return matchesAll || parts.length === 0 ? 'anyone' : parts.join('/')
}

/**
 * Who may open a TCP port on pods with these labels under the policies: the
 * peers of every rule that covers the port, or ['anyone'] when a rule leaves
 * the source open or no policy selects the pods.
 */
function peersFor (policies: KubeObject[], labels: Record<string, string>, port: number) {
  const selecting = policies
    .filter((policy) => selects(policy.spec.podSelector.matchLabels, labels))
  if (selecting.length === 0) return ['anyone']

  const peers = new Set<string>()
  for (const rule of selecting.flatMap((policy) => policy.spec.ingress ?? [])) {
    const ports: Array<{ port?: number }> = rule.ports ?? []
    const covers = ports.length === 0 || ports.some((p) => p.port === undefined || p.port === port)
    if (!covers) continue
    if (!rule.from || rule.from.length === 0) return ['anyone']
    for (const peer of rule.from as Peer[]) peers.add(describePeer(peer))
  }
  return [...peers].sort()
}

function deploymentNamed (objects: KubeObject[], name: string): KubeObject {
  const found = ofKind(objects, 'Deployment').find((d) => d.metadata.name === name)
  if (!found) throw new Error(`no Deployment ${name}`)
  return found
}

t.test('the internal ports are reachable only ' +
  'from the services that call them', { skip: noKubectl }, async (t) => {
  // auth calls both; totp's ops command line looks users up by email.
  const callers = { totp: ['pod:twofa-auth'], user: ['pod:twofa-auth', 'pod:twofa-totp'] }
  for (const dir of [BASE, PRODUCTION]) {
    const objects = render(t, dir)
    const policies = ofKind(objects, 'NetworkPolicy')

    for (const [name, port] of [['totp', 9082], ['user', 9083]] as const) {
      const deployment = deploymentNamed(objects, name)
      const ports = containersOf(deployment).flatMap((c) => c.ports)
      t.ok(ports.some((p: any) => p.containerPort === port), `${name} listens on ${port}`)

      const peers = peersFor(policies, podLabels(deployment), port)
      t.same(peers, callers[name], `${dir}: ${name}:${port} only from ${callers[name].join(', ')}`)
    }
  }
})

t.test('the public ports are reachable from the gateway and monitoring, ' +
  'and auth\'s also from the services that read its keys', { skip: noKubectl }, async (t) => {
  const objects = render(t, PRODUCTION)
  const policies = ofKind(objects, 'NetworkPolicy')
  const expected: Record<string, [number, string[]]> = {
    auth: [8081, ['namespace:monitoring', 'pod:twofa-gateway', 'pod:twofa-totp', 'pod:twofa-user']],
    totp: [8082, ['namespace:monitoring', 'pod:twofa-gateway']],
    user: [8083, ['namespace:monitoring', 'pod:twofa-gateway']],
    gateway: [8080, ['namespace:ingress-nginx']]
  }

  for (const [name, [port, peers]] of Object.entries(expected)) {
    t.same(peersFor(policies, podLabels(deploymentNamed(objects, name)), port), peers, name)
  }
})

t.test('each data store is reachable only ' +
  'from the services that use it', { skip: noKubectl }, async (t) => {
  const stores = [
    { name: 'mongodb', port: 27017, clients: ['twofa-totp', 'twofa-user'] },
    { name: 'redis', port: 6379, clients: ['twofa-auth', 'twofa-totp'] },
    { name: 'rabbitmq', port: 5672, clients: ['twofa-totp', 'twofa-user'] }
  ]
  const policies = ofKind(render(t, PRODUCTION), 'NetworkPolicy')
  const readme = readRepoFile('deploy/README.md')

  for (const store of stores) {
    const labels = { 'app.kubernetes.io/name': store.name }
    const expected = [...store.clients, store.name].map((name) => `pod:${name}`).sort()
    t.same(peersFor(policies, labels, store.port), expected, `${store.name}: clients and peers`)
    t.match(readme, `app.kubernetes.io/name: ${store.name}`, 'the README names its label')
  }
})

t.test('the Ingress sends everything to the gateway Service', { skip: noKubectl }, async (t) => {
  const objects = render(t, PRODUCTION)
  const backends = ofKind(objects, 'Ingress')
    .flatMap((ingress) => ingress.spec.rules)
    .flatMap((rule: any) => rule.http.paths)
    .map((path: any) => path.backend.service)

  t.ok(backends.length > 0)
  for (const backend of backends) t.same(backend, { name: 'gateway', port: { name: 'http' } })
  const service = ofKind(objects, 'Service').find((s) => s.metadata.name === 'gateway')
  t.ok(service?.spec.ports.some((port: any) => port.name === 'http'), 'the Service has that port')
})

t.test('every Service port leads to a port its pods declare', { skip: noKubectl }, async (t) => {
  const objects = render(t, BASE)
  for (const service of ofKind(objects, 'Service')) {
    const pods = ofKind(objects, 'Deployment')
      .filter((deployment) => selects(service.spec.selector, podLabels(deployment)))
    t.equal(pods.length, 1, `${service.metadata.name} selects one Deployment`)

    const declared = containersOf(pods[0] as KubeObject).flatMap((c) => c.ports)
    for (const port of service.spec.ports) {
      const found = declared.find((d: any) => d.name === port.targetPort)
      t.equal(found?.containerPort, port.port, `${service.metadata.name}:${port.name}`)
    }
  }
})

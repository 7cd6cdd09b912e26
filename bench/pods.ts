// The pod bodies the benchmark writes: a realistic ~1 KB pod (labels, annotations, one container
// with ports, env, resources, probes, a volume) for creates and watch events, and a smaller one
// that the server returns as about 2 KB (defaults, status and managedFields added) for LIST.

export function podBody(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: { app: 'web', tier: 'frontend', release: 'bench', 'pod-template-hash': '7d4b9c8f6d' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9113' },
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.k8s.io/nginx-slim:0.27',
          args: ['--port=8080', '--log-level=info'],
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/livez', port: 8080 }, initialDelaySeconds: 10, periodSeconds: 10 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/web', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      terminationGracePeriodSeconds: 30,
    },
  };
}

/**
 * The LIST figures' pod: about 2 KB as the server returns it (defaults, admission's additions,
 * status and managedFields included): one container. The figures report the measured size.
 */
export function listPodBody(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      // No ownerReferences: with the controller-manager running, the garbage collector would
      // delete pods whose owner does not exist.
      labels: { app: 'web', tier: 'frontend', 'pod-template-hash': '7d4b9c8f6d' },
    },
    spec: {
      // Without the projected service-account token volume, which would add about 1 KB.
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'web',
          image: 'registry.k8s.io/nginx-slim:0.27',
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
      ],
    },
  };
}

/**
 * The kwok configuration of the local control plane: the lifecycle "stages" that stand in for a
 * kubelet. kwok v0.8.0 run as a bare controller has no stages of its own (only kwokctl injects
 * defaults; the controller exits with "no stages found"), so the harness supplies them, written for
 * capstan's needs after kwok's documented Stage API (https://kwok.sigs.k8s.io/docs/user/stages-configuration/):
 *
 * - node-ready: a new fake Node gets Ready, addresses, node info and default capacity;
 * - node-heartbeat: a Ready node refreshes its conditions every 20 to 25 s, well inside the
 *   controller-manager's node-monitor grace period, so the node never turns NotReady;
 * - pod-ready: a scheduled Pending pod becomes Running and Ready with a pod IP;
 * - pod-complete: a Running pod owned by a Job ends Succeeded (so Jobs and hooks complete);
 * - pod-fail: a Running pod labelled `e2e.capstan.dev/pod-fails` ends Failed (failing hooks in tests);
 * - pod-delete: a pod marked for deletion is removed (no kubelet confirms it otherwise).
 *
 * Templates are Go templates with kwok's functions (`Now`, `Quote`, `NodeIP`, `PodIPsWith`, ...);
 * their output is patched into the object's status.
 */

/** Label that makes a Job's pod fail (exit code 1) instead of complete: failing hooks in tests. */
export const POD_FAILS_LABEL = 'e2e.capstan.dev/pod-fails';

/** A `Stage` document for `resource` (`Node` or `Pod`) in kwok's YAML. */
function stage(name: string, kind: 'Node' | 'Pod', body: string): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: ${kind}
${body}`;
}

/** Selector line: the Ready condition's status. */
const READY_STATUS = `'.status.conditions.[] | select( .type == "Ready" ) | .status'`;

/** Conditions of a healthy node, as the kubelet reports them; `$now` is set by the template. */
const NODE_CONDITIONS: [type: string, status: string, reason: string][] = [
  ['Ready', 'True', 'KubeletReady'],
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
  ['NetworkUnavailable', 'False', 'RouteCreated'],
];

/**
 * The `conditions:` block of a node status template. The first report sets every field; a
 * heartbeat only refreshes `lastHeartbeatTime` (the status patch merges conditions by type, so
 * reason and transition time stay, as with a real kubelet).
 */
function nodeConditions(heartbeatOnly: boolean): string {
  const lines = NODE_CONDITIONS.map(([type, status, reason]) => {
    const first = heartbeatOnly ? '' : `, reason: ${reason}, message: "", lastTransitionTime: {{ $now }}`;
    return `      - {type: ${type}, status: "${status}", lastHeartbeatTime: {{ $now }}${first}}`;
  });
  return ['      conditions:', ...lines].join('\n');
}

const NODE_READY = stage(
  'capstan-node-ready',
  'Node',
  `  selector:
    matchExpressions:
    - {key: ${READY_STATUS}, operator: NotIn, values: ['True']}
  next:
    statusTemplate: |
      {{ $now := Now | Quote }}
${nodeConditions(false)}
      addresses:
      - {type: InternalIP, address: {{ NodeIP | Quote }}}
      - {type: Hostname, address: {{ .metadata.name | Quote }}}
      {{ if not .status.allocatable }}
      allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
      capacity: {cpu: "32", memory: 256Gi, pods: "110"}
      {{ end }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
        kubeProxyVersion: {{ printf "kwok-%s" Version | Quote }}
        containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
        kernelVersion: ""
        osImage: ""
        machineID: ""
        systemUUID: ""
        bootID: ""
      phase: Running
`,
);

const NODE_HEARTBEAT = stage(
  'capstan-node-heartbeat',
  'Node',
  `  selector:
    matchExpressions:
    - {key: '.status.phase', operator: In, values: ['Running']}
    - {key: ${READY_STATUS}, operator: In, values: ['True']}
  delay:
    durationMilliseconds: 20000
    jitterDurationMilliseconds: 25000
  next:
    statusTemplate: |
      {{ $now := Now | Quote }}
${nodeConditions(true)}
  immediateNextStage: true
`,
);

const POD_READY = stage(
  'capstan-pod-ready',
  'Pod',
  `  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: ['Pending']}
    - {key: ${READY_STATUS}, operator: NotIn, values: ['True']}
  next:
    statusTemplate: |
      {{ $now := Now | Quote }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now }}}
      {{ range .spec.readinessGates }}
      - {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now }}}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, started: true, restartCount: 0, state: {running: {startedAt: {{ $now }}}}}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now }}, finishedAt: {{ $now }}}}}
      {{ end }}
      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - {ip: {{ . | Quote }}}
      {{ end }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - {ip: {{ . | Quote }}}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now }}
`,
);

const POD_COMPLETE = stage(
  'capstan-pod-complete',
  'Pod',
  `  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: ['Running']}
    - {key: '.metadata.ownerReferences.[].kind', operator: In, values: ['Job']}
    - {key: '.metadata.labels["${POD_FAILS_LABEL}"]', operator: DoesNotExist}
  next:
    statusTemplate: |
      {{ $now := Now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: false, started: false, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now }}, finishedAt: {{ $now }}}}}
      {{ end }}
      phase: Succeeded
`,
);

const POD_FAIL = stage(
  'capstan-pod-fail',
  'Pod',
  `  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: ['Running']}
    - {key: '.metadata.labels["${POD_FAILS_LABEL}"]', operator: Exists}
  next:
    statusTemplate: |
      {{ $now := Now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - {name: {{ .name | Quote }}, image: {{ .image | Quote }}, ready: false, started: false, restartCount: 0, state: {terminated: {exitCode: 1, reason: Error, startedAt: {{ $now }}, finishedAt: {{ $now }}}}}
      {{ end }}
      phase: Failed
`,
);

const POD_DELETE = stage(
  'capstan-pod-delete',
  'Pod',
  `  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: Exists}
  next:
    delete: true
`,
);

/**
 * The kwok configuration file (multi-document YAML): the stages above only. No
 * `KwokConfiguration` document: one with `options: {}` replaces kwok's defaulted options with
 * zeros (kwok then exits: "playStageParallelism must be greater than 0"); flags carry the options.
 */
export const KWOK_CONFIG = [NODE_READY, NODE_HEARTBEAT, POD_READY, POD_COMPLETE, POD_FAIL, POD_DELETE].join(
  '---\n',
);

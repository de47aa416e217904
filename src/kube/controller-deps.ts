import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { CrdClient } from './crd-client.js';
import type { EventRecorder } from './events.js';

/** What every controller is given by the operator: the API, configuration, telemetry, the Lease. */
export interface ControllerDeps {
  kubeConfig: k8s.KubeConfig;
  crds: CrdClient;
  config: Config;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  /** Only the leader writes; followers keep their caches warm. */
  isLeader: () => boolean;
}

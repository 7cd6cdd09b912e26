// rudder's client library (the client-go of this project): what controllers, the scheduler, the
// kubelet and the CLI import. Everything speaks through a Transport (src/api/transport.ts): the
// HTTPS one here between processes, the apiserver's in-process one inside the server.
export type { Transport, TransportRequest, TransportResponse, WatchHandle, WatchHandlers } from '../api/transport.ts';
export { statusErrorFrom } from '../api/transport.ts';
export { Client, ResourceClient, PATCH_CONTENT_TYPES } from './client.ts';
export type { ListOptions, GetOptions, WriteOptions, PatchOptions, PatchType, DeleteOptions, Preconditions, Scale, WatchCallbacks, ClientOptions } from './client.ts';
export { HttpsTransport, httpsTransportFromKubeconfig, loadKubeconfig } from './https.ts';
export type { HttpsTransportOptions, KubeconfigSelection } from './https.ts';
export { RealClock, FakeClock, realClock, settle, timeoutSignal } from './clock.ts';
export type { Clock, Timer } from './clock.ts';
export { WorkQueue, ItemExponentialFailureRateLimiter, BucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter } from './workqueue.ts';
export type { RateLimiter, WorkQueueOptions } from './workqueue.ts';
export { Indexer, Lister, NamespaceLister, NAMESPACE_INDEX, metaNamespaceKey, splitMetaNamespaceKey, namespaceIndexFunc } from './store.ts';
export type { IndexFunc, SelectorLike } from './store.ts';
export { SharedInformer, SharedInformerFactory } from './informer.ts';
export type { EventHandler, HandlerRegistration, InformerOptions, ListerWatcher, FactoryOptions } from './informer.ts';
export { LeaderElector, LeaseLock, JITTER_FACTOR, leaseSpecToRecord, recordToLeaseSpec } from './leaderelection.ts';
export type { LeaderElectionConfig, LeaderCallbacks, LeaderElectionRecord, ResourceLock, Lease, LeaseSpec } from './leaderelection.ts';
export { EventBroadcaster, EventCorrelator, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, eventName } from './events.ts';
export type { EventRecorder, EventSource, ObjectReference, CoreEvent, CorrelatorOptions, EventBroadcasterOptions } from './events.ts';
export { FakeTransport, FaultyTransport } from './fake-transport.ts';
export type { Reactor } from './fake-transport.ts';

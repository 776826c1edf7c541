/** What a role (or anything a probe asks) answers about itself: ready, or why not. */
export type Readiness = { ready: true } | { ready: false; reason: string }

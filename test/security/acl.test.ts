import { describe, expect, it } from 'vitest'
import { ANONYMOUS, authorizePublish, authorizeSubscribe, type AclContext, type Principal } from '../../broker/auth/acl.js'

const ns = 'er'
const owners = new Map([['job-a', 'alice'], ['job-b', 'bob']])
const ctx: AclContext = { namespace: ns, ownerOf: (id) => owners.get(id) }
const alice: Principal = { kind: 'user', username: 'alice', role: 'client' }
const w1: Principal = { kind: 'user', username: 'w1', role: 'worker' }
const root: Principal = { kind: 'user', username: 'root', role: 'admin' }
const body = (o: object) => JSON.stringify(o)

describe('ACL (docs/security.md), pure decisions', () => {
  it.each([
    // [who, topic, retain, payload, allowed]
    ['worker own state, retained', w1, 'er/nodes/w1/state', true, '{}', true],
    ['worker own events', w1, 'er/nodes/w1/events', false, '{}', true],
    ['worker own events, retained', w1, 'er/nodes/w1/events', true, '{}', false],
    ['worker another node\'s events', w1, 'er/nodes/w2/events', false, '{}', false],
    ['worker another node\'s state', w1, 'er/nodes/w2/state', true, '{}', false],
    ['worker submit', w1, 'er/submit', false, body({ replyTo: 'er/reply/w1' }), false],
    ['worker assign (master only)', w1, 'er/nodes/w1/assign', false, '{}', false],
    ['client submit, own replyTo', alice, 'er/submit', false, body({ id: 'new', replyTo: 'er/reply/alice' }), true],
    ['client rpc, own replyTo', alice, 'er/rpc', false, body({ replyTo: 'er/reply/alice' }), true],
    ['client submit, someone else\'s replyTo', alice, 'er/submit', false, body({ replyTo: 'er/reply/bob' }), false],
    ['client submit, replyTo #', alice, 'er/submit', false, body({ replyTo: '#' }), false],
    ['client submit, no replyTo', alice, 'er/submit', false, body({ id: 'x' }), false],
    ['client submit, not JSON', alice, 'er/submit', false, 'nope', false],
    ['client submit, a JSON array', alice, 'er/submit', false, '[1]', false],
    ['client submit, retained', alice, 'er/submit', true, body({ replyTo: 'er/reply/alice' }), false],
    // Let through: the master answers it with rejected NOT_AUTHORIZED (see auth.test.ts).
    ['client submit, id of bob\'s job', alice, 'er/submit', false, body({ id: 'job-b', replyTo: 'er/reply/alice' }), true],
    ['client submit, id of its own job (idempotent resend)', alice, 'er/submit', false, body({ id: 'job-a', replyTo: 'er/reply/alice' }), true],
    ['client submit in another namespace', alice, 'other/submit', false, body({ replyTo: 'other/reply/alice' }), false],
    ['client publishes a reply', alice, 'er/reply/bob', false, '{}', false],
    ['client publishes a worker event', alice, 'er/nodes/w1/events', false, '{}', false],
    ['anyone to $SYS: admin', root, '$SYS/x/new/clients', false, 'x', false],
    ['anyone to $SYS: anonymous', ANONYMOUS, '$SYS/x/new/clients', false, 'x', false],
    ['admin anything', root, 'er/nodes/w1/assign', false, 'x', true],
    ['admin retained master state', root, 'er/master/state', true, 'x', true],
    ['admin retained submit', root, 'er/submit', true, 'x', false],
    ['anonymous submit', ANONYMOUS, 'er/submit', false, 'x', true],
    ['anonymous retained node state, other namespace', ANONYMOUS, 'zz/nodes/n/state', true, '', true],
    ['anonymous retained submit', ANONYMOUS, 'er/submit', true, 'x', false],
    ['anonymous retained on an odd topic', ANONYMOUS, 'a/b/c/d/e', true, 'x', false],
  ] as const)('publish: %s', (_name, who, topic, retain, payload, allowed) => {
    expect(authorizePublish(ctx, who, topic, retain, Buffer.from(payload)).ok).toBe(allowed)
  })

  it.each([
    ['worker own assign', w1, 'er/nodes/w1/assign', true],
    ['worker own control', w1, 'er/nodes/w1/control', true],
    ['worker own state', w1, 'er/nodes/w1/state', true],
    ['worker master state', w1, 'er/master/state', true],
    ['client master state (to tell a restarted master)', alice, 'er/master/state', true],
    ['worker another node\'s assign', w1, 'er/nodes/w2/assign', false],
    ['worker all node states', w1, 'er/nodes/+/state', false],
    ['worker #', w1, '#', false],
    ['worker submit', w1, 'er/submit', false],
    ['client own reply', alice, 'er/reply/alice', true],
    ['client all node states', alice, 'er/nodes/+/state', true],
    ['client one node state', alice, 'er/nodes/w1/state', true],
    ['client own job events', alice, 'er/jobs/job-a/events', true],
    ['client another\'s job events', alice, 'er/jobs/job-b/events', false],
    ['client unknown job events', alice, 'er/jobs/nope/events', false],
    ['client all job events', alice, 'er/jobs/+/events', false],
    ['client another\'s reply', alice, 'er/reply/bob', false],
    ['client all replies', alice, 'er/reply/+', false],
    ['client #', alice, '#', false],
    ['client ns/#', alice, 'er/#', false],
    ['client $SYS', alice, '$SYS/#', false],
    ['client submit (reads others\' jobs)', alice, 'er/submit', false],
    ['admin #', root, '#', true],
    ['anonymous #', ANONYMOUS, '#', true],
  ] as const)('subscribe: %s', (_name, who, filter, allowed) => {
    expect(authorizeSubscribe(ctx, who, filter).ok).toBe(allowed)
  })
})

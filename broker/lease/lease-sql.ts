/**
 * The masters' lease (docs/storage.md, "Lease"): one row per namespace in `edgerun_leases`
 * (migration 2 of broker/store/postgres-schema.ts). The database's clock alone decides expiry,
 * so the masters' clocks never need to agree.
 */

/** Notified with the namespace when a lease is released, so standbys try at once. */
export const LEASE_CHANNEL = 'edgerun_lease'

/**
 * Takes the lease if nobody holds it or it has run out; a row comes back (the new term) only on
 * a win. Every win raises the term, even for the holder that had it last: a new term, a new fence.
 * $1 ns, $2 holder, $3 ttl in ms.
 */
export const ACQUIRE_SQL = `INSERT INTO edgerun_leases AS l (ns, holder, term, expires_at)
  VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
  ON CONFLICT (ns) DO UPDATE SET holder = excluded.holder, term = l.term + 1, expires_at = excluded.expires_at
  WHERE l.expires_at < now()
  RETURNING term`

/** Extends the lease if $2 still holds it at term $3; no row means it is lost. $4 ttl in ms. */
export const RENEW_SQL = `UPDATE edgerun_leases SET expires_at = now() + $4 * interval '1 millisecond'
  WHERE ns = $1 AND holder = $2 AND term = $3::bigint
  RETURNING term`

/** Ends the lease at once (a clean stop), and wakes the standbys. */
export const RELEASE_SQL = `WITH released AS (
    UPDATE edgerun_leases SET expires_at = now() - interval '1 millisecond'
    WHERE ns = $1 AND holder = $2 AND term = $3::bigint RETURNING ns)
  SELECT pg_notify('${LEASE_CHANNEL}', ns) FROM released`

/** Who holds the lease now, by the database's clock (for tests and `edgerun nodes`). */
export const HOLDER_SQL = `SELECT holder, term, expires_at > now() AS live FROM edgerun_leases WHERE ns = $1`

// Package etcd lets simplerpc servers find each other through etcd: a
// server registers its address under a name with Register, and a client
// dials the name with the Resolver of NewResolver, following the servers
// as they come and go.
//
// A registration is a key on a lease: Close deletes it at once (do it
// before Server.Shutdown, so that clients stop sending new calls first),
// and a server that dies without closing it vanishes when the lease runs
// out (WithTTL, default 10s).
package etcd

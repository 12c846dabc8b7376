// Package s3move copies each migrated user's S3 files from their old
// Cognito identity id to their new one (issue 22, route 2 "Copy"), checks
// the copies, and undoes them. It knows nothing of flags or terminals:
// the CLI's `storage copy|verify|rollback` wire it.
//
// # Input
//
// A bucket, per-identity path templates and moves:
//
//	ts, err := s3move.ParseTemplates([]string{"private/{entity_id}/", "protected/{entity_id}/", "media/{entity_id}/*"})
//	moves := []s3move.Move{{User: "alice", Old: "us-east-1:…", New: "us-east-1:…"}}
//
// A template holds {entity_id} once and ends in "/" (Gen 2's trailing "*"
// is dropped); it is cut right after the segment holding {entity_id}
// ("a/{entity_id}/b/" is "a/{entity_id}/"). An identity id must be
// REGION:GUID (CheckIdentityID): it becomes part of an S3 key. CheckMoves
// refuses two moves sharing an id (same old, same new, or one's old the
// other's new, as swapped or chained moves would be), so no user's files
// can land under another user's id.
//
// # Copy
//
//	api, err := s3move.NewClient(ctx, pathStyle) // config.LoadDefaultConfig
//	res, err := s3move.Copy(ctx, api, s3move.Options{Bucket: b, Templates: ts, Moves: moves,
//		Journal: ".poolmigrate/storage/<bucket>.journal.jsonl", Share: share, Command: "storage copy"})
//
// Every object under a move's old prefixes (ListObjectsV2, page by page)
// is copied to the same key under the new id: CopyObject up to
// Options.MultipartThreshold (5 GiB), metadata, content type, cache
// control, content disposition and encoding and tags kept (and the
// storage class); above it a multipart copy (UploadPartCopy with
// CopySourceRange, 8 parts at once, Options.PartSize each) that sets the
// same. The new prefix is listed alongside the old one, so what is
// already at each destination is known without a call per object. Each
// copy is bound to the listed source (CopySourceIfMatch) and refused if
// the destination appeared meanwhile (IfNoneMatch), then checked (ETag,
// else size and checksum).
// A destination that already holds the same object counts as done; one
// holding another object is a Conflict (the user uploaded under their new
// id): both are kept, named in Result.Conflicts, and Copy returns an
// *IncompleteError (exit non-zero), as it does for Failures. Old objects
// are never deleted. Copies run Options.Workers at once, across users and
// within one; Options.Progress is called after each object (Survey gives
// the totals for a percentage and an ETA).
//
// # Journal, resume, workers
//
// The journal (JSONL, 0600, locked for the run with statedir.LockFile) gets
// each copy before it is sent and its outcome after. A killed run is
// resumed by running Copy again with the same journal: settled copies are
// skipped without a call, a copy journaled but not recorded is recognised
// at its destination (its ETag) and settled, open multipart uploads are
// aborted. A resume's memory does not grow with the journal: past 64k
// objects what the journal says is done is kept in a temporary sorted
// index beside it (spill.go), built by each run and never trusted from
// another. Options.Share (dynamo.Share, --worker K/M) splits the moves by
// user (a hash of the old identity id); each worker has its own journal.
//
// # Rollback, verify, retire
//
// Rollback(ctx, api, journal, RollbackOptions{}) deletes exactly the
// objects the journal's runs created, each only while it holds what was
// copied and its source is still the object copied; never an object that
// was there before. Copies it leaves are named in RollbackResult.Left
// (and the journal keeps its name, so a second rollback can finish). Verify(ctx, api, VerifyOptions{...}) compares, per user, the
// objects under the new prefixes with those under the old (keys, sizes,
// ETags or checksums; a multipart copy by its journal) and lists what is
// missing or different (UserCheck.OK, VerifyResult.OK for the exit code).
// Retire(ctx, api, RetireOptions{...}) deletes a user's old objects only
// after their verify is clean, and of those only the ones a journal
// records copying from the object as it still is (never a file put there
// after the copy, a destination found already there, or a conflict),
// each checked against its copy again, and names and counts them
// (RetireResult.Deleted, Bytes, Users; DryRun names without deleting).
package s3move

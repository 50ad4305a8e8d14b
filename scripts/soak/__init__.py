"""Soak: many publishes through the real service under platform faults and SIGKILLs.

    make soak                                   # 500 publishes, seed 1
    make soak SOAK_ARGS="--publishes 100 --seed 7 --json var/soak.json"
    python -m scripts.soak --help

Set-up: both platform emulators in their own processes (short processing delay, Instagram's
publishing and container quotas raised, TikTok's per-token rate limits off), the service
(`python -m server`) in its own process over a database in a work directory. The publishes
(half Instagram, half TikTok; accounts spread so the service's per-token TikTok pacing never
makes a publish wait) are planned from --seed: account, media, caption (which carries the
request_id, so every platform post can be traced to its request), TikTok mode and privacy.

Run: seeded random faults on every endpoint of both emulators (5xx, 429 with Retry-After 1,
resets before and after serving, short stalls before and after serving, error_after_live on
media_publish and init), while a pool of concurrent callers sends each publish with its own
request_id and retries the SAME request on UNAVAILABLE, connection loss and DEADLINE_EXCEEDED
until the service gives a definitive answer (a result, or an error that names the publish, or
a refusal other than UNAVAILABLE). Meanwhile the service is killed with SIGKILL at seeded
intervals and restarted at once on the same database and port.

End: faults off, the last service run settles (every record terminal, bounded), then the
records (ListPublishes, GetPublish) are checked against what the emulators actually posted:

* duplicates: the emulators' own duplicate_posts, two records naming one platform post, a
  request whose publish posted more than once, a request_id with more than one record;
* lost: a request that never got a record (and was not refused), a record still not
  terminal after settling;
* mismatches: a record whose story differs from the platform's (PUBLISHED without a post,
  FAILED although it posted, a platform id that is not its own post's, the caller told
  something other than the record says), and INTERNAL errors;
* UNCONFIRMED records are allowed: each is listed with its reason and whether it posted.

Every duplicate, lost publish or mismatch is printed with its request_id, publish id, the
record's timeline (GetPublish events) and the emulator's posts for it. The figures go to
stdout and, with --json, to a file. Exit status 1 on any duplicate, lost publish or mismatch.

The modules: `plan` (the seeded plan: requests, fault rules), `run` (the processes, the
callers, the kills, the read-back), `analyse` (records against posts: duplicates, lost,
mismatches; no I/O), `report` (the printed report and the JSON file), `__main__` (options).
"""

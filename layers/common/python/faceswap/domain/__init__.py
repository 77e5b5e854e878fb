"""Pure domain logic: errors, ids, image checks, polling policy, time. No AWS, no network."""

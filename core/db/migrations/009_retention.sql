-- Retention (workers/retention): when a gateway node's media disk reaches the high-water mark,
-- the oldest unheld segments *of that node* go first, across its cameras. This index walks a
-- node's segments oldest first from a cursor (starts_at, id) and stops after a batch, instead
-- of sorting the node's whole history: recording_segments_range_idx leads with the camera,
-- so it cannot order across cameras.
CREATE INDEX recording_segments_node_idx ON recording_segments (node_id, starts_at, id);

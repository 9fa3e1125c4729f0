-- The acknowledgement timeout counts from the delivery's own delivered_at, which the worker stamps on
-- notify's clock (the one the scheduler reads): a restart or a late scheduler tick never moves it.
COMMENT ON COLUMN deliveries.delivered_at IS
    'When the notice reached its recipient, on notify''s clock; acknowledgement timeouts count from here';
COMMENT ON COLUMN deliveries.ack_watch_from IS
    'No longer read: the acknowledgement timeout counts from delivered_at';

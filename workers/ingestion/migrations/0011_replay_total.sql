-- How many sightings a replay's window held when it started (the fetch log's count), so progress reads as a share:
-- `sightings` of `total_sightings`. NULL for replays recorded before it was counted.
ALTER TABLE replays ADD COLUMN total_sightings INTEGER;

-- parley: example queries for analysts.
--
-- Connect as the read-only role (`parley db grant-analyst --password-env VAR` creates it), e.g.
--   psql "postgresql://parley_analyst@HOST/parley"
-- and read the views' documentation with \d+ current_positions (every column has a comment).
--
-- Views: current_positions, position_history, position_change_events, claims_with_evidence,
-- feed_health; full-text search with articles.search_vector.
--
-- Time windows: parley may be reading an archive (a replay) rather than live news, so the windows
-- below are anchored on the latest data parley holds (`max(published_at)`), not on now(). On a live
-- system the two are the same to within an hour; replace the anchor with now() if you prefer.
--
-- Each query starts with a line `-- name: <slug>`; the test suite runs every one of them as the
-- analyst role against a database filled from replayed news and expects rows from each.


-- name: who_moved_this_week
-- Who moved on what in the last seven days: every change of position, and every actor's first
-- stated position on an issue (kind 'new'), newest first, with the sentence before and after and
-- the outlet that reported it first. Add `AND kind = 'change'` for moves between positions only.
SELECT published_at, kind, actor, issue,
       old_value || ' (' || old_stance || ')' AS was,
       new_value || ' (' || new_stance || ')' AS now,
       outlet, new_evidence, new_url
  FROM position_change_events
 WHERE published_at > (SELECT max(published_at) FROM position_change_events) - interval '7 days'
 ORDER BY published_at DESC;


-- name: hamas_on_prisoners
-- Every position Hamas has held on the release of Palestinian prisoners, oldest first, with the
-- sentence and article that opened each version and how widely it was reported.
SELECT valid_from, valid_to, value, stance, outlets, confirmed_at IS NOT NULL AS confirmed,
       first_outlet, first_evidence, first_url
  FROM position_history
 WHERE actor = 'hamas' AND issue = 'prisoners_released'
 ORDER BY valid_from;


-- name: every_statement_of_hamas_on_prisoners
-- The same, statement by statement: every article that attributed a prisoners position to Hamas.
SELECT published_at, value, stance, outlet, evidence, url
  FROM claims_with_evidence
 WHERE actor = 'hamas' AND issue = 'prisoners_released'
 ORDER BY published_at;


-- name: outlets_first_with_changes
-- Which outlets report moves first: changes each outlet was the first to report, and how many of
-- those were later stated by at least one other outlet.
SELECT outlet,
       count(*) AS reported_first,
       count(*) FILTER (WHERE outlets >= 2) AS later_corroborated,
       max(published_at) AS latest
  FROM position_change_events
 GROUP BY outlet
 ORDER BY reported_first DESC, outlet;


-- name: single_outlet_positions
-- Current positions resting on a single outlet's word: worth a second source before quoting.
SELECT actor, issue, value, stance, since, last_outlet, last_evidence, last_url
  FROM current_positions
 WHERE outlets = 1
 ORDER BY since DESC;


-- name: feeds_silent_or_failing
-- Feeds to look at: failing polls in a row, or polls that keep succeeding but bring nothing new.
SELECT feed, url, last_status, consecutive_failures, last_error, last_success_at,
       polls_since_new_items, silent_since, round(items_per_day, 1) AS items_per_day
  FROM feed_health
 WHERE active AND (consecutive_failures >= 3 OR polls_since_new_items >= 3)
 ORDER BY consecutive_failures DESC, polls_since_new_items DESC;


-- name: search_articles_for_a_phrase
-- Full-text search (English stemming: "pauses" finds "pause"): articles mentioning a humanitarian
-- pause, best matches first, with the matching passage highlighted. websearch_to_tsquery accepts
-- what people type into a search box: "quoted phrases", OR, -excluded words.
SELECT a.published_at, coalesce(f.title, f.url) AS outlet, a.title, a.url,
       ts_headline('english', a.text, q, 'MaxFragments=1, MaxWords=25, MinWords=10') AS passage
  FROM articles a
  JOIN feeds f ON f.id = a.feed_id,
       websearch_to_tsquery('english', '"humanitarian pause"') AS q
 WHERE a.search_vector @@ q
 ORDER BY ts_rank(a.search_vector, q) DESC, a.published_at DESC
 LIMIT 20;


-- name: third_parties_current_positions
-- What the mediators and outside powers stand for now: every actor who is not a party to the deal
-- (actors.kind 'mediator' — Qatar, Egypt — or 'other' — the United States, the UN …).
SELECT actor_name, actor_kind, issue_label, value, stance, since, outlets, confirmed,
       last_evidence, last_url
  FROM current_positions
 WHERE actor_kind <> 'party'
 ORDER BY actor_kind, actor, issue;


-- name: changes_confirmed_by_two_outlets
-- Position events (first positions and changes) that at least two outlets have stated, with when
-- they were confirmed (PARLEY_CONFIRM_OUTLETS sets the number parley itself confirms at).
SELECT published_at, actor, issue, old_value, old_stance, new_value, new_stance, outlets,
       confirmed_at, outlet AS first_reported_by, new_evidence, new_url
  FROM position_change_events
 WHERE outlets >= 2
 ORDER BY published_at DESC;


-- name: where_the_parties_differ
-- Issue by issue, the two parties' current positions side by side (Israel and Hamas), where both
-- have one.
SELECT i.issue, i.value AS israel_value, i.stance AS israel_stance,
       h.value AS hamas_value, h.stance AS hamas_stance,
       (i.value, i.stance) IS DISTINCT FROM (h.value, h.stance) AS differ
  FROM current_positions i
  JOIN current_positions h ON h.issue = i.issue AND h.actor = 'hamas'
 WHERE i.actor = 'israel'
 ORDER BY differ DESC, i.issue;


-- name: truce_length_timeline
-- How the proposed and agreed length of a truce moved, every actor, in time order.
SELECT valid_from, valid_to, actor, value_number AS days, stance, outlets, first_outlet, first_url
  FROM position_history
 WHERE issue = 'ceasefire_duration'
 ORDER BY valid_from, actor;

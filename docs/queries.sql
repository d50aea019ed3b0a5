-- parley: example queries for analysts.
--
-- Connect as the read-only role (`parley db grant-analyst --password-env VAR` creates it), e.g.
--   psql "postgresql://parley_analyst@HOST/parley"
-- and read the views' documentation with \d+ current_positions (every column has a comment).
--
-- Views: current_positions, position_history, position_change_events, claims_with_evidence,
-- feed_health; full-text search with articles.search_vector. parley follows several negotiations
-- (the table `negotiations`: gaza, ukraine, …): the four ledger views start with `negotiation` (the
-- key) and `negotiation_label`, and an issue key means something only within its negotiation
-- (`ceasefire_duration` exists in both gaza and ukraine), so filter or join on both.
--
-- Time windows: parley may be reading an archive (a replay) rather than live news, so the windows
-- below are anchored on the latest data parley holds (`max(published_at)`), not on now(). On a live
-- system the two are the same to within an hour; replace the anchor with now() if you prefer.
--
-- Each query starts with a line `-- name: <slug>`; the test suite runs every one of them as the
-- analyst role against a database filled from replayed news (tests/e2e/test_queries.py) and expects
-- rows from each; the ukraine_ ones, which the 2023 news it replays cannot answer, are checked
-- against a ledger of Russian, Ukrainian and American statements (tests/db/test_views.py).


-- name: who_moved_this_week
-- Who moved on what in the last seven days, in every negotiation: every change of position, and
-- every actor's first stated position on an issue (kind 'new'), newest first, with the sentence
-- before and after and the outlet that reported it first. Add `AND kind = 'change'` for moves
-- between positions only, `AND negotiation = 'gaza'` for one negotiation.
SELECT negotiation, published_at, kind, actor, issue,
       old_value || ' (' || old_stance || ')' AS was,
       new_value || ' (' || new_stance || ')' AS now,
       outlet, new_evidence, new_url
  FROM position_change_events
 WHERE published_at > (SELECT max(published_at) FROM position_change_events) - interval '7 days'
 ORDER BY published_at DESC;


-- name: hamas_on_prisoners
-- Every position Hamas has held on the release of Palestinian prisoners (in the Gaza talks), oldest
-- first, with the sentence and article that opened each version and how widely it was reported.
SELECT valid_from, valid_to, value, stance, outlets, confirmed_at IS NOT NULL AS confirmed,
       first_outlet, first_evidence, first_url
  FROM position_history
 WHERE negotiation = 'gaza' AND actor = 'hamas' AND issue = 'prisoners_released'
 ORDER BY valid_from;


-- name: every_statement_of_hamas_on_prisoners
-- The same, statement by statement: every article that attributed a prisoners position to Hamas.
SELECT published_at, value, stance, outlet, evidence, url
  FROM claims_with_evidence
 WHERE negotiation = 'gaza' AND actor = 'hamas' AND issue = 'prisoners_released'
 ORDER BY published_at;


-- name: outlets_first_with_changes
-- Which outlets report moves first, in each negotiation: changes each outlet was the first to
-- report, and how many of those were later stated by at least one other outlet.
SELECT negotiation_label, outlet,
       count(*) AS reported_first,
       count(*) FILTER (WHERE outlets >= 2) AS later_corroborated,
       max(published_at) AS latest
  FROM position_change_events
 GROUP BY negotiation_label, outlet
 ORDER BY negotiation_label, reported_first DESC, outlet;


-- name: single_outlet_positions
-- Current positions resting on a single outlet's word: worth a second source before quoting.
SELECT negotiation, actor, issue, value, stance, since, last_outlet, last_evidence, last_url
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
-- What the mediators and outside powers stand for now, negotiation by negotiation: every actor who
-- is not a party to a deal (actors.kind 'mediator' — Qatar, Egypt, Turkey — or 'other' — the United
-- States, the UN, the EU …).
SELECT negotiation_label, actor_name, actor_kind, issue_label, value, stance, since, outlets,
       confirmed, last_evidence, last_url
  FROM current_positions
 WHERE actor_kind <> 'party'
 ORDER BY negotiation, actor_kind, actor, issue;


-- name: changes_confirmed_by_two_outlets
-- Position events (first positions and changes) that at least two outlets have stated, with when
-- they were confirmed (PARLEY_CONFIRM_OUTLETS sets the number parley itself confirms at).
SELECT negotiation, published_at, actor, issue, old_value, old_stance, new_value, new_stance, outlets,
       confirmed_at, outlet AS first_reported_by, new_evidence, new_url
  FROM position_change_events
 WHERE outlets >= 2
 ORDER BY published_at DESC;


-- name: where_the_parties_differ
-- Issue by issue, the two parties' current positions in the Gaza talks side by side (Israel and
-- Hamas), where both have one.
SELECT i.issue, i.value AS israel_value, i.stance AS israel_stance,
       h.value AS hamas_value, h.stance AS hamas_stance,
       (i.value, i.stance) IS DISTINCT FROM (h.value, h.stance) AS differ
  FROM current_positions i
  JOIN current_positions h ON h.negotiation = i.negotiation AND h.issue = i.issue AND h.actor = 'hamas'
 WHERE i.negotiation = 'gaza' AND i.actor = 'israel'
 ORDER BY differ DESC, i.issue;


-- name: truce_length_timeline
-- How the proposed and agreed length of a truce moved in the Gaza talks, every actor, in time order
-- (`negotiation = 'ukraine'` for the Russia–Ukraine ceasefire, whose issue has the same key).
SELECT valid_from, valid_to, actor, value_number AS days, stance, outlets, first_outlet, first_url
  FROM position_history
 WHERE negotiation = 'gaza' AND issue = 'ceasefire_duration'
 ORDER BY valid_from, actor;


-- name: ukraine_where_russia_and_ukraine_differ
-- Where Russia and Ukraine differ now: every issue of the Russia–Ukraine talks on which both hold a
-- position and the two differ in value or in stance (Russia demanding territory that Ukraine
-- refuses to cede), with what each last said and where.
SELECT r.issue, r.issue_label,
       r.value AS russia_value, r.stance AS russia_stance, r.since AS russia_since,
       u.value AS ukraine_value, u.stance AS ukraine_stance, u.since AS ukraine_since,
       r.last_evidence AS russia_evidence, r.last_url AS russia_url,
       u.last_evidence AS ukraine_evidence, u.last_url AS ukraine_url
  FROM current_positions r
  JOIN current_positions u ON u.negotiation = r.negotiation AND u.issue = r.issue AND u.actor = 'ukraine'
 WHERE r.negotiation = 'ukraine' AND r.actor = 'russia'
   AND (r.value, r.stance) IS DISTINCT FROM (u.value, u.stance)
 ORDER BY r.issue;


-- name: ukraine_moves_on_guarantees_or_territory_this_month
-- Who moved on security guarantees for Ukraine or on Ukraine ceding territory this month (the
-- calendar month of the latest event parley holds): first positions (kind 'new') and changes,
-- newest first, with the sentence before and after.
SELECT published_at, kind, actor_name, issue,
       old_value || ' (' || old_stance || ')' AS was,
       new_value || ' (' || new_stance || ')' AS now,
       outlet, new_evidence, new_url, still_holds
  FROM position_change_events
 WHERE negotiation = 'ukraine'
   AND issue IN ('security_guarantees', 'territorial_concessions')
   AND published_at >= date_trunc('month', (SELECT max(published_at) FROM position_change_events))
 ORDER BY published_at DESC, actor;

-- Actor search by a word of the display name ("tab" finds "Robert Tables") through a GIN
-- index of its words, instead of a LIKE '% tab%' scan over every actor.
create index actor_display_name_words_idx on actor using gin (to_tsvector('simple', coalesce(display_name, '')));

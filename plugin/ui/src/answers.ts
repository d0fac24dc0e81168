// Generated from client/stashtag_client/stash/answers.py by `stashtag plugin manifest`: edit that, not this.

export interface Card {
  id: string;
  title: string;
  screenshot: string | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  studio: string | null;
}

export interface Hit {
  id: string;
  title: string;
  screenshot: string | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  studio: string | null;
  score: number;
  frame: number;
  time: number;
}

export interface Alignment {
  aligned: number;
  offset_s: number;
}

export interface Neighbour {
  id: string;
  title: string;
  screenshot: string | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  studio: string | null;
  score: number;
  duplicate: Alignment | null;
}

export interface DuplicateScene {
  id: string;
  title: string;
  screenshot: string | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  studio: string | null;
  marked: boolean;
}

export interface Pair {
  a: string;
  b: string;
  scene_cosine: number;
  aligned: number;
  offset_s: number;
}

export interface DuplicateGroup {
  scenes: DuplicateScene[];
  pairs: Pair[];
}

export interface ReviewScene {
  id: string;
  title: string;
  screenshot: string | null;
  duration: number | null;
  width: number | null;
  height: number | null;
  size: number | null;
  studio: string | null;
  suggestions: string[];
}

export interface StatusAnswer {
  store: string;
  model_id: string | null;
  scenes: number;
}

export interface SearchAnswer {
  model_id: string;
  text: string;
  hits: Hit[];
  filtered: boolean;
}

export interface SimilarAnswer {
  scene_id: string;
  tagged: boolean;
  neighbours: Neighbour[];
}

export interface DuplicatesAnswer {
  groups: DuplicateGroup[];
}

export interface MarkDuplicatesAnswer {
  marked: string[];
  tag: string;
}

export interface ReviewAnswer {
  scenes: ReviewScene[];
}

export interface DecideAnswer {
  scene_id: string;
  accepted: string[];
  rejected: string[];
}

export interface Answers {
  status: StatusAnswer;
  search: SearchAnswer;
  similar: SimilarAnswer;
  duplicates: DuplicatesAnswer;
  mark_duplicates: MarkDuplicatesAnswer;
  review: ReviewAnswer;
  decide: DecideAnswer;
}

// What the plugin's operations answer (client/stashtag_client/stash/operations.py).
import type { Answers } from "./answers";
import { runOperation } from "./pluginApi";

// The answers' types are generated from the Python declaration (answers.ts): never by hand.
export type { Card, DuplicateGroup, Hit, Neighbour, ReviewScene } from "./answers";

export interface SearchFilter {
  tag?: string; // a tag name: scenes with it or a tag under it
  studio?: string; // a studio name: its scenes and its sub-studios'
}
export const search = (text: string, filter: SearchFilter = {}, limit = 24) =>
  runOperation<Answers["search"]>("search", { text, limit, ...filter });
export const similar = (sceneId: string, limit = 12) =>
  runOperation<Answers["similar"]>("similar", { scene_id: sceneId, limit });
export const duplicates = () => runOperation<Answers["duplicates"]>("duplicates");
export const markDuplicates = (sceneIds: string[]) =>
  runOperation<Answers["mark_duplicates"]>("mark_duplicates", { scene_ids: sceneIds });
export const review = () => runOperation<Answers["review"]>("review");
export const decide = (sceneId: string, accept: string[], reject: string[]) =>
  runOperation<Answers["decide"]>("decide", {
    scene_id: sceneId,
    accept,
    reject,
  });

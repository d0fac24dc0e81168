// What the plugin's operations answer (client/stashtag_client/stash/operations.py).
import { runOperation } from "./pluginApi";

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
export interface Hit extends Card {
  score: number;
  frame: number;
  time: number;
}
export interface Neighbour extends Card {
  score: number;
  duplicate: { aligned: number; offset_s: number } | null;
}
export interface DuplicateGroup {
  scenes: (Card & { marked: boolean })[];
}
export interface ReviewScene extends Card {
  suggestions: string[];
}

export interface SearchFilter {
  tag?: string; // a tag name: scenes with it or a tag under it
  studio?: string; // a studio name: its scenes and its sub-studios'
}
export const search = (text: string, filter: SearchFilter = {}, limit = 24) =>
  runOperation<{ text: string; hits: Hit[] }>("search", { text, limit, ...filter });
export const similar = (sceneId: string, limit = 12) =>
  runOperation<{ tagged: boolean; neighbours: Neighbour[] }>("similar", { scene_id: sceneId, limit });
export const duplicates = () => runOperation<{ groups: DuplicateGroup[] }>("duplicates");
export const markDuplicates = (sceneIds: string[]) =>
  runOperation<{ marked: string[]; tag: string }>("mark_duplicates", { scene_ids: sceneIds });
export const review = () => runOperation<{ scenes: ReviewScene[] }>("review");
export const decide = (sceneId: string, accept: string[], reject: string[]) =>
  runOperation<{ accepted: string[]; rejected: string[] }>("decide", {
    scene_id: sceneId,
    accept,
    reject,
  });

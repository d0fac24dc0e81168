// Duplicate groups (DINOv2 + frame alignment): the copies to drop are ticked (all but the
// largest picture, then the largest file) and tagged AI_Duplicate on request; nothing is deleted.
import React from "react";
import { Button, Form } from "react-bootstrap";
import { duplicates, markDuplicates } from "./api";
import type { DuplicateGroup } from "./api";
import { ListPage, SceneCard, megabytes, useAction } from "./components";

function keeper(group: DuplicateGroup): string {
  const best = [...group.scenes].sort(
    (a, b) => (b.height ?? 0) - (a.height ?? 0) || (b.size ?? 0) - (a.size ?? 0),
  );
  return best[0].id;
}

const Group: React.FC<{ group: DuplicateGroup; onDone: () => void }> = ({ group, onDone }) => {
  const keep = keeper(group);
  const [chosen, setChosen] = React.useState<Set<string>>(
    () => new Set(group.scenes.filter((s) => s.id !== keep && !s.marked).map((s) => s.id)),
  );
  const { busy, act } = useAction(onDone);
  const toggle = (id: string) =>
    setChosen((c) => {
      const next = new Set(c);
      next.has(id) ? next.delete(id) : next.add(id);
      return next;
    });
  const mark = () =>
    act(async () => {
      const out = await markDuplicates([...chosen]);
      return `${out.marked.length} scene(s) tagged ${out.tag}`;
    });
  return (
    <div className="stashtag-group">
      <div className="stashtag-grid">
        {group.scenes.map((s) => (
          <SceneCard key={s.id} scene={s}>
            <div className="stashtag-meta">
              {[megabytes(s.size), s.width && s.height ? `${s.width}×${s.height}` : ""]
                .filter(Boolean)
                .join(" · ")}
            </div>
            {s.marked ? (
              <div className="stashtag-marked">tagged AI_Duplicate</div>
            ) : (
              <Form.Check
                id={`stashtag-dup-${s.id}`}
                label={s.id === keep ? "keep (best copy)" : "a copy to drop"}
                checked={chosen.has(s.id)}
                onChange={() => toggle(s.id)}
              />
            )}
          </SceneCard>
        ))}
      </div>
      <Button size="sm" variant="warning" disabled={busy || !chosen.size} onClick={mark}>
        Tag {chosen.size} selected AI_Duplicate
      </Button>
    </div>
  );
};

// a group's key changes when its members' marks do: its ticks start afresh after a marking
const groupKey = (g: DuplicateGroup) => g.scenes.map((s) => s.id + (s.marked ? "m" : "")).join("-");

export const DuplicatesPage: React.FC = () => (
  <ListPage
    load={duplicates}
    loading="Comparing scenes…"
    empty={(data) => !data.groups.length && "No duplicates among the tagged scenes."}
  >
    {(data, reload) => data.groups.map((g) => <Group key={groupKey(g)} group={g} onDone={reload} />)}
  </ListPage>
);

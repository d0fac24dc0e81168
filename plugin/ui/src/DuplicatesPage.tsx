// Duplicate groups (DINOv2 + frame alignment): the copies to drop are ticked (all but the
// largest picture, then the largest file) and tagged AI_Duplicate on request; nothing is deleted.
import React from "react";
import { Button, Form } from "react-bootstrap";
import { duplicates, markDuplicates } from "./api";
import type { DuplicateGroup } from "./api";
import { Empty, Failure, Loading, SceneCard, Views, megabytes, useOperation } from "./components";
import { useToast } from "./pluginApi";

function keeper(group: DuplicateGroup): string {
  const best = [...group.scenes].sort(
    (a, b) => (b.height ?? 0) - (a.height ?? 0) || (b.size ?? 0) - (a.size ?? 0),
  );
  return best[0].id;
}

const Group: React.FC<{ group: DuplicateGroup; onDone: () => void }> = ({ group, onDone }) => {
  const toast = useToast();
  const keep = keeper(group);
  const [chosen, setChosen] = React.useState<Set<string>>(
    () => new Set(group.scenes.filter((s) => s.id !== keep && !s.marked).map((s) => s.id)),
  );
  const [busy, setBusy] = React.useState(false);
  const toggle = (id: string) =>
    setChosen((c) => {
      const next = new Set(c);
      next.has(id) ? next.delete(id) : next.add(id);
      return next;
    });
  const mark = async () => {
    setBusy(true);
    try {
      const out = await markDuplicates([...chosen]);
      toast.success(`${out.marked.length} scene(s) tagged ${out.tag}`);
      onDone();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  };
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

export const DuplicatesPage: React.FC = () => {
  const { data, error, loading, reload } = useOperation(duplicates, []);
  return (
    <div className="stashtag-page">
      <Views />
      {loading && !data ? <Loading what="Comparing scenes…" /> : null}
      {error ? <Failure error={error} /> : null}
      {data && !data.groups.length ? <Empty>No duplicates among the tagged scenes.</Empty> : null}
      {(data?.groups ?? []).map((g) => (
        <Group key={g.scenes.map((s) => s.id).join("-") + g.scenes.filter((s) => s.marked).length} group={g} onDone={reload} />
      ))}
    </div>
  );
};

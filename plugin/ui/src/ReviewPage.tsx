// The review queue: each scene's pending "AI Review: <tag>" suggestions, accepted or rejected
// here exactly as the "Apply review decisions" task would (the plugin's decide operation).
import React from "react";
import { Button, ButtonGroup } from "react-bootstrap";
import { decide, review } from "./api";
import type { ReviewScene } from "./api";
import { Empty, Failure, Loading, SceneCard, Views, useOperation } from "./components";
import { useToast } from "./pluginApi";

const Suggestions: React.FC<{ scene: ReviewScene; onDone: () => void }> = ({ scene, onDone }) => {
  const toast = useToast();
  const [busy, setBusy] = React.useState(false);
  const settle = async (accept: string[], reject: string[]) => {
    setBusy(true);
    try {
      await decide(scene.id, accept, reject);
      const done = [...accept.map((t) => `+${t}`), ...reject.map((t) => `−${t}`)];
      toast.success(`Scene ${scene.title || scene.id}: ${done.join(", ")}`);
      onDone();
    } catch (e) {
      toast.error(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stashtag-suggestions">
      {scene.suggestions.map((tag) => (
        <ButtonGroup key={tag} size="sm" className="stashtag-suggestion" aria-label={tag}>
          <Button variant="secondary" disabled>
            {tag}
          </Button>
          <Button variant="success" disabled={busy} title={`Accept ${tag}`} onClick={() => settle([tag], [])}>
            ✓
          </Button>
          <Button variant="danger" disabled={busy} title={`Reject ${tag}`} onClick={() => settle([], [tag])}>
            ✗
          </Button>
        </ButtonGroup>
      ))}
      <div className="stashtag-all">
        <Button size="sm" variant="outline-success" disabled={busy} onClick={() => settle(scene.suggestions, [])}>
          Accept all
        </Button>{" "}
        <Button size="sm" variant="outline-danger" disabled={busy} onClick={() => settle([], scene.suggestions)}>
          Reject all
        </Button>
      </div>
    </div>
  );
};

export const ReviewPage: React.FC = () => {
  const { data, error, loading, reload } = useOperation(review, []);
  return (
    <div className="stashtag-page">
      <Views />
      {loading && !data ? <Loading what="Loading suggestions…" /> : null}
      {error ? <Failure error={error} /> : null}
      {data && !data.scenes.length ? <Empty>No suggestions wait for review.</Empty> : null}
      <div className="stashtag-grid">
        {(data?.scenes ?? []).map((scene) => (
          <SceneCard key={scene.id} scene={scene}>
            <Suggestions scene={scene} onDone={reload} />
          </SceneCard>
        ))}
      </div>
    </div>
  );
};

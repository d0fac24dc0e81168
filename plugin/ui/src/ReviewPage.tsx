// The review queue: each scene's pending "AI Review: <tag>" suggestions, accepted or rejected
// here exactly as the "Apply review decisions" task would (the plugin's decide operation).
import React from "react";
import { Button, ButtonGroup } from "react-bootstrap";
import { decide, review } from "./api";
import type { ReviewScene } from "./api";
import { ListPage, SceneCard, useAction } from "./components";

const Suggestions: React.FC<{ scene: ReviewScene; onDone: () => void }> = ({ scene, onDone }) => {
  const { busy, act } = useAction(onDone);
  const settle = (accept: string[], reject: string[]) =>
    act(async () => {
      await decide(scene.id, accept, reject);
      const done = [...accept.map((t) => `+${t}`), ...reject.map((t) => `−${t}`)];
      return `Scene ${scene.title || scene.id}: ${done.join(", ")}`;
    });
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

export const ReviewPage: React.FC = () => (
  <ListPage
    load={review}
    loading="Loading suggestions…"
    empty={(data) => !data.scenes.length && "No suggestions wait for review."}
  >
    {(data, reload) => (
      <div className="stashtag-grid">
        {data.scenes.map((scene) => (
          <SceneCard key={scene.id} scene={scene}>
            <Suggestions scene={scene} onDone={reload} />
          </SceneCard>
        ))}
      </div>
    )}
  </ListPage>
);

// The scene page's "Similar" tab: nearest scenes by DINOv2, likely duplicates marked.
import React from "react";
import { Badge } from "react-bootstrap";
import { similar } from "./api";
import { Empty, Failure, Loading, SceneCard, useOperation } from "./components";

export const TAB_KEY = "stashtag-similar-panel";

export const SimilarPanel: React.FC<{ sceneId: string }> = ({ sceneId }) => {
  const { data, error, loading } = useOperation(() => similar(sceneId), [sceneId]);
  if (loading) return <Loading what="Finding similar scenes…" />;
  if (error) return <Failure error={error} />;
  if (!data?.tagged) return <Empty>stashtag has not tagged this scene yet.</Empty>;
  if (!data.neighbours.length) return <Empty>No other tagged scene to compare with.</Empty>;
  return (
    <div className="stashtag-grid stashtag-similar">
      {data.neighbours.map((n) => (
        <SceneCard key={n.id} scene={n}>
          <div className="stashtag-score">similarity {n.score.toFixed(3)}</div>
          {n.duplicate ? (
            <Badge variant="warning" className="stashtag-duplicate">
              likely duplicate · {Math.round(n.duplicate.aligned * 100)}% frames aligned
              {n.duplicate.offset_s ? ` · offset ${n.duplicate.offset_s.toFixed(1)} s` : ""}
            </Badge>
          ) : null}
        </SceneCard>
      ))}
    </div>
  );
};

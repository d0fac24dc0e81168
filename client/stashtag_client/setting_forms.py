"""How each setting shows outside the code: its flag, the commands that take it, its form on
Stash's plugin settings page. Keyed by the fields of :class:`stashtag_client.settings.Settings`
(which checks every plugin key has one form); the CLI's flags and the manifest's settings are
generated from these."""

from __future__ import annotations

# Each setting's flag, the same in every command (its variable is STASHTAG_<SETTING NAME>); the
# others are --<name with dashes> (booleans --<name>/--no-<name>).
FLAGS = {
    "endpoints": "--triton",
    "stash_url": "--stash-url",
    "stash_api_key": "--stash-api-key",
    "store": "--store",
    "max_in_flight": "--in-flight",
    "timeout_s": "--timeout",
    "allow_tags": "--allow",
    "deny_tags": "--deny",
    "confirmed_learned": "--confirm-learned",
    "interactive": "--interactive/--bulk",
    "describe_timeout_s": "--describe-timeout",
    "calibrate_min_labels": "--min-labels",
}

# The settings each kind of command takes as flags (a command names the groups it reads).
GROUPS: dict[str, tuple[str, ...]] = {
    "connection": ("endpoints", "server_key", "tls_ca", "timeout_s", "attempts", "interactive"),
    "inference": ("max_in_flight", "ocr_frames", "frame_budget"),
    "store": ("store",),
    "vocabulary": ("vocabulary", "allow_tags", "deny_tags", "review_below"),
    "stash": ("stash_url", "stash_api_key", "stash_verify_tls"),
    "writing": (
        "mode",
        "strategy",
        "only_new_any",
        "allow_overwrite",
        "parent_tag",
        "review_parent",
        "markers",
        "studio",
        "overwrite_studio",
        "dry_run",
        "confirmed_learned",
        "full_images",
        "gallery_share",
    ),
    "describe": (
        "describe",
        "describe_overwrite",
        "describe_template",
        "describe_endpoint",
        "describe_model",
        "describe_api_key",
        "describe_timeout_s",
    ),
    "learning": ("calibrate_min_labels",),
}


# How each plugin setting shows on Stash's settings page; the manifest's `settings:` block
# (plugin/stashtag.yml) is generated from this: `stashtag plugin manifest`.
PLUGIN_FORMS: dict[str, tuple[str, str, str]] = {  # key: (displayName, description, type)
    "1_tritonEndpoints": (
        "Triton endpoints",
        "host:port[=weight], comma-separated (default 127.0.0.1:8001); what `stashtag serve` "
        "printed",
        "STRING",
    ),
    "2_tritonServerKey": (
        "Triton server key",
        "Key of a shared server started with `stashtag serve --key` (sent as the stashtag-key"
        " header)",
        "STRING",
    ),
    "3_tritonTlsCa": (
        "Triton TLS CA file",
        "PEM certificate to trust for a TLS server (use grpcs://host:port endpoints)",
        "STRING",
    ),
    "4_requestsInFlight": (
        "Requests in flight",
        "Inference requests sent at once, at most (default 16; more keeps a fast GPU server busy)",
        "NUMBER",
    ),
    "frameBudget": (
        "Frame budget",
        "Frames each model sees: auto (default: CLIP every frame, YOLO and detectors every "
        "3rd, DINOv2 every 2nd), all, or model:n,... e.g. yolo:2,dino:1",
        "STRING",
    ),
    "vocabulary": (
        "Vocabulary file",
        "Path to a vocabulary YAML (empty = the shipped default)",
        "STRING",
    ),
    "parentTag": (
        "Parent tag",
        "Tags stashtag creates go under this tag (default AI)",
        "STRING",
    ),
    "suggestMode": (
        "Suggest only",
        "Put tags under a review parent instead of applying them",
        "BOOLEAN",
    ),
    "noMarkers": (
        "Disable markers",
        "Do not create scene markers",
        "BOOLEAN",
    ),
    "noStudio": (
        "Disable studio",
        "Do not set studios from watermarks",
        "BOOLEAN",
    ),
    "overwriteStudio": (
        "Overwrite studio",
        "Replace a scene's studio when the watermark names another",
        "BOOLEAN",
    ),
    "queueNewScenes": (
        "Queue new scenes",
        "New scenes get AI_TagMe (tagged by the next Tag queued scenes run); off: the hook "
        "does nothing",
        "BOOLEAN",
    ),
    "tagOnCreate": (
        "Tag on create",
        "Tag a new scene at once when Stash has made its sprite; without one, queue it and "
        "ask Stash for the sprite",
        "BOOLEAN",
    ),
    "dryRun": (
        "Dry run",
        "Log what would change; write nothing",
        "BOOLEAN",
    ),
    "storePath": (
        "Store file",
        "Embedding store (SQLite); default stashtag.db in the plugin folder",
        "STRING",
    ),
    "learnTags": (
        "Tags to learn",
        "Your own tags to learn from the scenes you gave them (comma-separated; task Learn tags)",
        "STRING",
    ),
    "confirmedLearned": (
        "Confirmed learned tags",
        "Learned tags to apply (comma-separated, * = all); the others are only suggested "
        "under AI Review",
        "STRING",
    ),
    "forgetTags": (
        "Learned tags to delete",
        "Comma-separated, * = all (task Delete learned tags)",
        "STRING",
    ),
    "calibrateMinLabels": (
        "Calibration minimum",
        "Kept and removed scenes a tag needs, each, before calibration changes it (default 3)",
        "NUMBER",
    ),
    "strategy": (
        "Tagging strategy",
        "append (default: add beside your tags) | only-new (skip scenes stashtag tagged) | "
        "replace-own (replace stashtag's earlier tags) | overwrite (replace all tags; needs "
        "Allow overwrite)",
        "STRING",
    ),
    "onlyNewAnyTag": (
        "Only-new skips any tagged scene",
        "With only-new: skip scenes that have any tag at all, not only stashtag's",
        "BOOLEAN",
    ),
    "allowOverwrite": (
        "Allow overwrite",
        "Let the overwrite strategy replace your own tags (saved first; Remove stashtag tags "
        "restores them)",
        "BOOLEAN",
    ),
    "allowTags": (
        "Allowed tags",
        "If set, only these tags are applied (comma-separated)",
        "STRING",
    ),
    "denyTags": (
        "Denied tags",
        "Tags never applied (comma-separated)",
        "STRING",
    ),
    "reviewBelowPercent": (
        "Review below (%)",
        "Tags scoring under this percentage (0-100) are suggested for review instead of "
        "applied (0 = off)",
        "NUMBER",
    ),
    "fullImages": (
        "Tag full images",
        "Send each image file itself instead of Stash's thumbnail (slower, sharper)",
        "BOOLEAN",
    ),
    "galleryPercent": (
        "Gallery share (%)",
        "A gallery gets a tag when at least this percentage of its images has it (default 30)",
        "NUMBER",
    ),
    "logLevel": (
        "Log level",
        "trace | debug | info (default) | warning | error",
        "STRING",
    ),
    "describe": (
        "Write descriptions",
        "Fill empty scene details with a short description from the tags, objects, studio and"
        " on-screen text (off by default)",
        "BOOLEAN",
    ),
    "describeOverwrite": (
        "Overwrite details",
        "Also replace details you wrote yourself",
        "BOOLEAN",
    ),
    "describeTemplate": (
        "Description template",
        "Fields {tags} {objects} {studio} {text} (empty = all four)",
        "STRING",
    ),
    "describeEndpoint": (
        "Description model endpoint",
        "OpenAI-compatible base URL of a local model server, e.g. http://localhost:1234/v1 "
        "(LM Studio) or http://localhost:11434/v1 (Ollama); empty = the template only",
        "STRING",
    ),
    "describeModel": (
        "Description model",
        "Model name on that server",
        "STRING",
    ),
    "describeApiKey": (
        "Description endpoint key",
        "Bearer key, if the server wants one",
        "STRING",
    ),
}

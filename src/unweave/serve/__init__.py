"""``unweave serve``: a local web page to separate, listen and download, and its JSON API
(:mod:`unweave.serve.app`), with jobs on a process pool (:mod:`unweave.serve.jobs`)."""

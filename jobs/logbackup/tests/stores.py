"""Log repositories for the engine's tests: real directory repositories, and one that fails on purpose."""

from repositories.logstore import DirectoryBackend, LogRepository


def open_store(path):
    path.mkdir(parents=True, exist_ok=True)
    return LogRepository.create(DirectoryBackend(path), password=None)


class FailingStore:
    """A real repository that stops working after `after_chunks` chunks: an outage, or (`stored_last`) a
    process killed just after its last chunk was stored, before anyone learnt about it."""

    def __init__(self, real, *, after_chunks: int, stored_last: bool = False):
        self.real, self.left, self.stored_last = real, after_chunks, stored_last

    def write_chunk(self, **kwargs):
        if self.left <= 0:
            raise RuntimeError("crash: the repository went away")
        self.left -= 1
        manifest = self.real.write_chunk(**kwargs)
        if self.left == 0 and self.stored_last:
            raise RuntimeError("crash: killed after the chunk was stored")
        return manifest

    def manifests(self, *args, **kwargs):
        return self.real.manifests(*args, **kwargs)

    def read_chunk(self, manifest):
        return self.real.read_chunk(manifest)


class CountingStore:
    """A real repository that counts the chunks read from it."""

    def __init__(self, real):
        self.real, self.chunks_read = real, 0

    def write_chunk(self, **kwargs):
        return self.real.write_chunk(**kwargs)

    def manifests(self, *args, **kwargs):
        return self.real.manifests(*args, **kwargs)

    def read_chunk(self, manifest):
        self.chunks_read += 1
        return self.real.read_chunk(manifest)

"""What an edit starts from: the thread's images or the attached files, downloaded, checked,
converted where the Images API needs it, with the mask the edit applies through."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.domain.credentials import ContentCredentials, CredentialReader
from bot.domain.image_work import ImageWork
from bot.domain.imaging import (
    ImageHeader,
    InputImage,
    fit_mask,
    has_transparency,
    prepare_input,
    read_header,
    within_budget,
)
from bot.domain.model import EditSource, ThreadImage
from bot.domain.regions import region_mask
from bot.domain.requests import Prompt
from bot.errors import InputRejected, NothingToEdit
from bot.storage.thread_images import ThreadImages

MAX_SOURCE_IMAGES = 16
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class DownloadedFile:
    name: str
    data: bytes


class FileSource(Protocol):
    async def fetch(self, file_id: str, *, attached: bool) -> DownloadedFile:
        """The file's bytes; `attached` files were shared by people and must be checked."""
        ...


@dataclass(frozen=True)
class Sources:
    """What an edit starts from, ready for the Images API, and where each image came from."""

    images: tuple[InputImage, ...]
    mask: bytes | None
    parents: tuple[ThreadImage, ...]
    credentials: tuple[ContentCredentials, ...]  # of each parent as downloaded


@dataclass(frozen=True)
class _Checked:
    """A downloaded file whose header passed: what it is, before any pixel is decoded."""

    row: ThreadImage
    download: DownloadedFile
    header: ImageHeader


class EditSources:
    def __init__(self, images: ThreadImages, credentials: CredentialReader, work: ImageWork) -> None:
        self._images = images
        self._credentials = credentials
        self._work = work

    async def resolve(
        self, *, channel: str, thread: str, edit: EditSource, prompt: Prompt, files: FileSource
    ) -> Sources:
        """Resolve what the edit starts from (now, in the job's turn), download and prepare it."""
        if edit.file_ids:
            rows = await self._images.by_file_ids(channel, thread, edit.file_ids)
        elif prompt.version is not None:
            found = await self._images.by_number(channel, thread, prompt.version)
            if found is None:
                raise NothingToEdit(version=prompt.version)
            rows = [found]
        else:
            latest = await self._images.latest(channel, thread)
            if latest is None:
                raise NothingToEdit()
            rows = [latest]
        if len(rows) > MAX_SOURCE_IMAGES + 1:  # one more may be a mask
            raise InputRejected(f"an edit takes at most {MAX_SOURCE_IMAGES} images; this one has {len(rows)}")
        downloads = [
            (row, await files.fetch(row.slack_file_id or "", attached=row.origin == "attached")) for row in rows
        ]
        # Every file, mask or not, in any position: its header first, then the request's budget.
        checked = [
            _Checked(row, download, await self._in_pool(read_header, row, download)) for row, download in downloads
        ]
        within_budget([file.header for file in checked])
        mask_file = await self._pick_mask(checked) if len(checked) > 1 else None
        images = [file for file in checked if file is not mask_file]
        if len(images) > MAX_SOURCE_IMAGES:
            raise InputRejected(f"an edit takes at most {MAX_SOURCE_IMAGES} images; this one has {len(images)}")
        prepared = [await self._in_pool(prepare_input, file.row, file.download) for file in images]
        first = prepared[0]
        mask = None
        if prompt.region is not None and mask_file is not None:
            raise InputRejected("give the area to change either as a mask image or with `--region`, not both")
        if prompt.region is not None:
            mask = await self._work.run(region_mask, prompt.region, first.size)
        elif mask_file is not None:
            name, data = mask_file.download.name, mask_file.download.data
            mask = await self._work.run(fit_mask, name, data, first.size, original_size=images[0].header.size)
        credentials = [
            await self._credentials.read(file.download.data, _shared_type(file.download, image))
            for file, image in zip(images, prepared, strict=True)
        ]
        for file, read in zip(images, credentials, strict=True):
            if file.row.origin == "attached" and file.row.c2pa is None:
                await self._images.note_credentials(file.row.id, read.describe())
        return Sources(
            images=tuple(prepared),
            mask=mask,
            parents=tuple(file.row for file in images),
            credentials=tuple(credentials),
        )

    async def _in_pool(self, work: Callable[[str, bytes], T], row: ThreadImage, download: DownloadedFile) -> T:
        """`work` on the file, in the image pool; a file it refuses is never offered again."""
        try:
            return await self._work.run(work, download.name, download.data)
        except InputRejected:
            await self._images.mark_unusable(row.id)
            raise

    async def _pick_mask(self, files: list[_Checked]) -> _Checked | None:
        """Among several attachments, the mask is a file named `mask*`, or else a later PNG with
        transparency; the first attachment is always the image it applies to."""
        later = files[1:]
        named = [file for file in later if file.download.name.lower().startswith("mask")]
        if named:
            return named[0]
        for file in later:
            if file.header.format == "PNG" and await self._work.run(has_transparency, file.header, file.download.data):
                return file
        return None


def _shared_type(download: DownloadedFile, prepared: InputImage) -> str:
    """The MIME type of the file as it was shared (before any conversion)."""
    if not prepared.converted:
        return prepared.mime_type
    return mimetypes.guess_type(download.name)[0] or "application/octet-stream"

"""What an edit starts from: the thread's images or the attached files, downloaded, checked,
converted where the Images API needs it, with the mask the edit applies through."""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from typing import Protocol

from bot.domain.credentials import ContentCredentials, CredentialReader
from bot.domain.imaging import InputImage, fit_mask, has_transparency, pixel_size, prepare_input
from bot.domain.regions import region_mask
from bot.domain.requests import Prompt
from bot.errors import InputRejected
from bot.storage.repositories import ThreadImages
from bot.storage.tables import ImageRow

MAX_SOURCE_IMAGES = 16


@dataclass(frozen=True, kw_only=True)
class EditSource:
    """What an edit starts from: files attached to the request (they win), else image `#N`
    of the thread, else the thread's latest image when the job's turn comes."""

    file_ids: tuple[str, ...] = ()


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
    parents: tuple[ImageRow, ...]
    credentials: tuple[ContentCredentials, ...]  # of each parent as downloaded


class EditSources:
    def __init__(self, images: ThreadImages, credentials: CredentialReader) -> None:
        self._images = images
        self._credentials = credentials

    async def resolve(
        self, *, channel: str, thread: str, edit: EditSource, prompt: Prompt, files: FileSource
    ) -> Sources:
        """Resolve what the edit starts from (now, in the job's turn), download and prepare it."""
        if edit.file_ids:
            rows = await self._images.by_file_ids(channel, thread, edit.file_ids)
        elif prompt.version is not None:
            found = await self._images.by_number(channel, thread, prompt.version)
            if found is None:
                raise InputRejected(f"there is no image #{prompt.version} in this thread")
            rows = [found]
        else:
            latest = await self._images.latest(channel, thread)
            if latest is None:
                raise InputRejected("there is no image in this thread to edit yet")
            rows = [latest]
        if len(rows) > MAX_SOURCE_IMAGES + 1:  # one more may be a mask
            raise InputRejected(f"an edit takes at most {MAX_SOURCE_IMAGES} images; this one has {len(rows)}")
        downloads = [
            (row, await files.fetch(row.slack_file_id or "", attached=row.origin == "attached")) for row in rows
        ]
        mask_file = _pick_mask(downloads) if len(downloads) > 1 else None
        images = [(row, download) for row, download in downloads if download is not mask_file]
        if len(images) > MAX_SOURCE_IMAGES:
            raise InputRejected(f"an edit takes at most {MAX_SOURCE_IMAGES} images; this one has {len(images)}")
        prepared = [await self._prepare(row, download) for row, download in images]
        first = prepared[0]
        mask = None
        if prompt.region is not None and mask_file is not None:
            raise InputRejected("give the area to change either as a mask image or with `--region`, not both")
        if prompt.region is not None:
            mask = await asyncio.to_thread(region_mask, prompt.region, first.size)
        elif mask_file is not None:
            original = await asyncio.to_thread(pixel_size, images[0][1].data)
            mask = await asyncio.to_thread(fit_mask, mask_file.name, mask_file.data, first.size, original_size=original)
        credentials = [
            await self._credentials.read(download.data, _shared_type(download, image))
            for (_, download), image in zip(images, prepared, strict=True)
        ]
        for (row, _), read in zip(images, credentials, strict=True):
            if row.origin == "attached" and row.id is not None and row.c2pa is None:
                await self._images.note_credentials(row.id, read.describe())
        return Sources(
            images=tuple(prepared),
            mask=mask,
            parents=tuple(row for row, _ in images),
            credentials=tuple(credentials),
        )

    async def _prepare(self, row: ImageRow, download: DownloadedFile) -> InputImage:
        try:
            return await asyncio.to_thread(prepare_input, download.name, download.data)
        except InputRejected:
            if row.id is not None:
                await self._images.mark_unusable(row.id)
            raise


def _pick_mask(downloads: list[tuple[ImageRow, DownloadedFile]]) -> DownloadedFile | None:
    """Among several attachments, the mask is a file named `mask*`, or else a later PNG with
    transparency; the first attachment is always the image it applies to."""
    later = [download for _, download in downloads[1:]]
    named = [download for download in later if download.name.lower().startswith("mask")]
    if named:
        return named[0]
    transparent = [d for d in later if d.name.lower().endswith(".png") and has_transparency(d.data)]
    return transparent[0] if transparent else None


def _shared_type(download: DownloadedFile, prepared: InputImage) -> str:
    """The MIME type of the file as it was shared (before any conversion)."""
    if not prepared.converted:
        return prepared.mime_type
    return mimetypes.guess_type(download.name)[0] or "application/octet-stream"

"""The Users directory service against the emulated service in-process (no Qt).

Requests are counted at the server: "only changed fields", "never resent" and "one request
per refresh" are shown, not assumed.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.errors import NotFound, PermissionDenied, ServerError, ValidationError
from desktop_app.api.models import ContactType, NewUser, Role, User, UserPage, UserUpdate
from desktop_app.sandbox import BASIC_TOKEN, SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.services.identity import Identity
from desktop_app.services.users import (
    FieldErrors,
    SaveOutcomeUnknown,
    UserForm,
    UsersService,
    Verdict,
)
from desktop_app.store import UserStore
from tests.helpers.tokens import FAKE_TOKEN

NEW_NUMBER = "98765 43219"


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
def app() -> SandboxApp:
    config = SandboxConfig(
        n_logs=20, rate_limit=None, tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8}
    )
    return create_app(config)


def make_client(app: SandboxApp, token: str = FAKE_TOKEN) -> MyOperatorClient:
    return MyOperatorClient(
        token,
        base_url="http://sandbox",
        transport=httpx.ASGITransport(app=app),
        budget=RequestBudget.unlimited(sleep=_no_wait),
        retry=RetryPolicy(attempts=2),
        sleep=_no_wait,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[UserStore]:
    with UserStore.open(tmp_path / "cache.db") as s:
        yield s


@pytest.fixture
async def client(app: SandboxApp) -> AsyncIterator[MyOperatorClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
async def service(client: MyOperatorClient, store: UserStore) -> UsersService:
    svc = UsersService(client, store)
    await svc.refresh()
    return svc


def by_name(service: UsersService, name: str) -> User:
    return next(u for u in service.users() if u.name == name)


def new_form(**changes: object) -> UserForm:
    base = UserForm(name="Kavya Menon", country_code="91", contact_number=NEW_NUMBER)
    return replace(base, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reading


async def test_refresh_fetches_everyone_in_one_request_into_the_cache(
    service: UsersService, state: SandboxState, store: UserStore, client: MyOperatorClient
) -> None:
    gets = state.requests_to("/user", "GET")
    assert len(gets) == 1 and gets[0].params["_all"] == "1"
    assert [u.uuid for u in service.users()] == [u.uuid for u in state.users]
    assert store.all() == service.users()
    assert service.synced_at() is not None
    # A new service starts from the cache, without a request.
    again = UsersService(client, store)
    assert again.users() == service.users()
    assert len(state.requests_to("/user", "GET")) == 1


class _NoAllClient:
    """A client whose service refuses ``_all=1``: the directory must page instead."""

    def __init__(self, real: MyOperatorClient) -> None:
        self.real = real

    async def all_users(self, *, keyword: str | None = None) -> tuple[User, ...]:
        raise ValidationError("MyOperator refused the request: _all is not supported", sent=True)

    def iter_users(
        self, *, keyword: str | None = None, page_size: int = 100
    ) -> AsyncIterator[UserPage]:
        return self.real.iter_users(keyword=keyword, page_size=5)

    async def add_user(self, user: NewUser) -> str | None:
        return await self.real.add_user(user)

    async def update_user(self, update: UserUpdate) -> str | None:
        return await self.real.update_user(update)


async def test_refresh_pages_when_the_service_refuses_all(
    client: MyOperatorClient, store: UserStore, state: SandboxState
) -> None:
    service = UsersService(_NoAllClient(client), store)
    users = await service.refresh()
    assert [u.uuid for u in users] == [u.uuid for u in state.users]
    pages = [r.params["page"] for r in state.requests_to("/user", "GET")]
    assert pages == ["1", "2", "3"]  # 12 users, 5 a page


async def test_refresh_formats_the_numbers_off_the_loops_thread(
    client: MyOperatorClient, store: UserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list's first fill on the window's thread would otherwise pay phonenumbers'
    first parse of the users' country."""
    prepared: list[tuple[list[str], threading.Thread]] = []

    def prepare(numbers: Iterable[str]) -> None:
        prepared.append((list(numbers), threading.current_thread()))

    monkeypatch.setattr("desktop_app.services.users.prepare_number_formats", prepare)
    users = await UsersService(client, store).refresh()
    [(numbers, thread)] = prepared
    assert numbers == [u.number_e164 for u in users if u.number_e164] and numbers
    assert thread is not threading.current_thread()


async def test_search_is_local(service: UsersService, state: SandboxState) -> None:
    before = len(state.requests)
    assert [u.name for u in service.search("kulkarni")] == ["Arjun Kulkarni", "Imran Kulkarni"]
    assert [u.name for u in service.search("90256-49588")] == ["Aarav Menon"]
    assert "Deepa Patel" in [u.name for u in service.search("21")]  # her extension
    assert len(state.requests) == before


async def test_listeners_hear_refreshes(service: UsersService) -> None:
    heard: list[int] = []
    unsubscribe = service.add_listener(lambda: heard.append(len(service.users())))
    await service.refresh()
    unsubscribe()
    await service.refresh()
    assert heard == [12]


# ---------------------------------------------------------------------- field rules


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"contact_number": ""}, "contact_number"),
        ({"contact_number": "12345"}, "contact_number"),
        ({"contact_number": "98765abc19"}, "contact_number"),
        ({"contact_number": "+44 98765 43219"}, "contact_number"),  # not valid for +44
        ({"country_code": ""}, "country_code"),
        ({"country_code": "0471"}, "country_code"),  # a state code
        ({"country_code": "999"}, "country_code"),
        ({"country_code": "India"}, "country_code"),
        ({"extension": "ten"}, "extension"),
        ({"extension": "5"}, "extension"),
        ({"extension": "100"}, "extension"),
        ({"extension": "12"}, "extension"),  # Rohan Verma's
        ({"email": "kavya@"}, "email"),
        ({"email": "kavya at example.com"}, "email"),
        ({"alternate_contact_number": "98765 01234"}, "alternate_cc"),
        ({"alternate_contact_number": "123", "alternate_cc": "91"}, "alternate_contact_number"),
        ({"alternate_contact_number": "98765 01234", "alternate_cc": "0471"}, "alternate_cc"),
        ({"contact_number": "+91 90256 49588"}, "contact_number"),  # Aarav Menon's
        ({"contact_number": "090256-49588"}, "contact_number"),  # the same, typed otherwise
    ],
)
async def test_each_field_rule_names_its_field(
    service: UsersService, changes: dict[str, str], field: str
) -> None:
    errors = service.check_form(new_form(**changes))
    assert list(errors) == [field], errors
    assert errors[field]
    with pytest.raises(FieldErrors) as caught:
        service.new_user(new_form(**changes))
    assert caught.value.errors == errors and not caught.value.sent


async def test_every_wrong_field_is_reported_at_once(service: UsersService) -> None:
    errors = service.check_form(
        UserForm(name="", country_code="91", contact_number="1", extension="x", email="@")
    )
    assert list(errors) == ["name", "contact_number", "extension", "email"]


async def test_duplicates_name_the_other_user(service: UsersService) -> None:
    errors = service.check_form(new_form(contact_number="9025649588", extension="12"))
    assert "Aarav Menon" in errors["contact_number"]
    assert "Rohan Verma" in errors["extension"]


@pytest.mark.parametrize(
    ("number", "cc"),
    [
        ("98765 43219", "91"),
        ("98765-43219", "91"),
        ("098765 43219", "91"),
        ("(0) 98765 43219", "91"),
        ("+91 98765 43219", "91"),
        ("+91 98765 43219", ""),  # the +cc in the number is enough
        ("0091 9876543219", "91"),
        ("020 7946 0958", "44"),
        ("+44 20 7946 0958", "91"),
    ],
)
async def test_numbers_are_accepted_as_people_type_them(
    service: UsersService, number: str, cc: str
) -> None:
    assert service.check_form(new_form(contact_number=number, country_code=cc)) == {}


async def test_new_user_carries_the_normalised_number_and_every_choice(
    service: UsersService,
) -> None:
    new = service.new_user(
        new_form(contact_number="+44 20 7946 0958", extension=" 77 ", email=" k@example.com ",
                 alternate_contact_number="98765 01234", alternate_cc="+91",
                 panel_access=False, receive_calls=False, contact_type=ContactType.LANDLINE)
    )
    assert new == NewUser(
        name="Kavya Menon", contact_number="2079460958", country_code="44", extension=77,
        email="k@example.com", alternate_contact_number="98765 01234", alternate_cc="+91",
        panel_access=False, receive_calls=False, contact_type=ContactType.LANDLINE,
    )


async def test_editing_checks_only_changed_fields_and_not_against_itself(
    service: UsersService,
) -> None:
    rohan = by_name(service, "Rohan Verma")
    form = UserForm.from_user(rohan)
    assert service.check_form(form, original=rohan) == {}
    # His own number and extension are not duplicates of himself.
    assert service.check_form(replace(form, contact_number="+91 83189 32238"),
                              original=rohan) == {}
    # A value the server holds is not second-guessed unless it is changed.
    odd = replace(rohan, extension=150)
    assert service.check_form(UserForm.from_user(odd), original=odd) == {}
    errors = service.check_form(replace(form, extension="11"), original=rohan)
    assert "Aarav Menon" in errors["extension"]


@pytest.mark.parametrize(
    "field", ["extension", "email", "alternate_contact_number"]
)
async def test_a_field_that_had_a_value_cannot_be_emptied(
    service: UsersService, field: str
) -> None:
    rohan = by_name(service, "Rohan Verma")
    form = replace(UserForm.from_user(rohan), **{field: ""})
    assert list(service.check_form(form, original=rohan)) == [field]


# ------------------------------------------------------------------------------ add


async def test_add_sends_once_then_refreshes(
    service: UsersService, state: SandboxState
) -> None:
    result = await service.add(service.new_user(new_form(extension="77")))
    posts = state.requests_to("/user", "POST")
    assert len(posts) == 1
    assert posts[0].params == {
        "name": "Kavya Menon", "contact_number": "9876543219", "country_code": "91",
        "extension": "77", "panel_access": "1", "receive_calls": "1",
        "contact_type": "mobile",
    }
    assert result.user is not None and result.user.name == "Kavya Menon"
    assert result.uuid == result.user.uuid
    assert result.refresh_error is None
    assert service.get(result.uuid) == result.user
    assert len(state.requests_to("/user", "GET")) == 2


async def test_uniqueness_is_checked_before_sending(
    service: UsersService, state: SandboxState
) -> None:
    aarav = by_name(service, "Aarav Menon")
    with pytest.raises(FieldErrors) as caught:
        await service.add(NewUser(name="Dup", contact_number=f"0{aarav.contact_number}",
                                  country_code="91", extension=aarav.extension))
    assert set(caught.value.errors) == {"contact_number", "extension"}
    assert state.requests_to("/user", "POST") == []


async def _someone_else_adds(state: SandboxState, number: str, extension: str) -> None:
    state.add_user({"name": "Added Elsewhere", "contact_number": number,
                    "country_code": "91", "extension": extension})


@pytest.mark.parametrize(
    ("number", "extension", "field"),
    [("9876543219", "", "contact_number"), ("9876501234", "77", "extension")],
)
async def test_server_rejections_of_a_stale_cache_name_the_field(
    service: UsersService, state: SandboxState, number: str, extension: str, field: str
) -> None:
    await _someone_else_adds(state, number, extension)  # after our refresh
    with pytest.raises(ValidationError) as caught:
        await service.add(service.new_user(new_form(extension="77")))
    assert caught.value.sent and caught.value.field == field
    assert "already assigned" in caught.value.message


async def test_a_basic_token_may_not_add_and_then_add_is_disabled(
    app: SandboxApp, store: UserStore
) -> None:
    async with make_client(app, BASIC_TOKEN) as basic:
        service = UsersService(basic, store)
        await service.refresh()
        assert service.permissions().may_add
        with pytest.raises(PermissionDenied):
            await service.add(service.new_user(new_form()))
        permissions = service.permissions()
        assert not permissions.may_add and "SuperAdmin and Admin" in permissions.add_reason
        assert permissions.may_edit


async def test_my_role_decides_who_may_add_and_is_remembered(
    service: UsersService, client: MyOperatorClient, store: UserStore
) -> None:
    assert service.my_uuid is None and service.permissions().may_add
    kavya = by_name(service, "Kavya Rao")
    assert kavya.role is Role.BASIC
    service.set_my_uuid(kavya.uuid)
    permissions = service.permissions()
    assert not permissions.may_add
    assert "Kavya Rao" in permissions.add_reason and "Basic" in permissions.add_reason
    again = UsersService(client, store)
    assert again.me() == kavya and not again.permissions().may_add
    again.set_my_uuid(by_name(service, "Rohan Verma").uuid)  # an Admin
    assert again.permissions().may_add


class SharedMe:
    """Another component's "which user am I" setting (the dialer's has this shape)."""

    def __init__(self, uuid: str | None = None) -> None:
        self.me_uuid = uuid
        self.writes: list[str | None] = []

    def set_me_uuid(self, uuid: str | None) -> None:
        self.me_uuid = uuid
        self.writes.append(uuid)


async def test_me_can_be_shared_with_another_setting(
    client: MyOperatorClient, store: UserStore, service: UsersService
) -> None:
    kavya = by_name(service, "Kavya Rao")
    shared = SharedMe(kavya.uuid)
    with_shared = UsersService(client, store, me=Identity(shared))
    assert with_shared.me() == kavya and not with_shared.permissions().may_add
    heard: list[bool] = []
    with_shared.add_listener(lambda: heard.append(with_shared.permissions().may_add))
    with_shared.set_my_uuid(by_name(service, "Aarav Menon").uuid)
    assert shared.writes == [by_name(service, "Aarav Menon").uuid] and heard == [True]
    assert store.my_uuid() is None  # the cache's own setting is not used then


# --------------------------------------------------------------------------- update


async def test_update_sends_only_the_changed_fields(
    service: UsersService, state: SandboxState
) -> None:
    rohan = by_name(service, "Rohan Verma")
    form = replace(UserForm.from_user(rohan), name="Rohan V. Verma", receive_calls=False)
    result = await service.update(rohan, form)
    assert result is not None
    assert state.requests_to("/user", "PUT")[-1].params == {
        "uuid": rohan.uuid, "name": "Rohan V. Verma", "receive_calls": "2",
    }
    assert result.user is not None
    assert (result.user.name, result.user.receives_calls) == ("Rohan V. Verma", False)


async def test_a_new_number_travels_with_its_country_code(
    service: UsersService, state: SandboxState
) -> None:
    rohan = by_name(service, "Rohan Verma")
    await service.update(rohan, replace(UserForm.from_user(rohan), contact_number=NEW_NUMBER))
    assert state.requests_to("/user", "PUT")[-1].params == {
        "uuid": rohan.uuid, "contact_number": "9876543219", "country_code": "91",
    }


async def test_retyping_the_same_values_sends_nothing(
    service: UsersService, state: SandboxState
) -> None:
    rohan = by_name(service, "Rohan Verma")
    same = replace(
        UserForm.from_user(rohan),
        contact_number="+91 83189-32238",
        alternate_contact_number="094295 95052",
        alternate_cc="+91",
        email=f" {rohan.email} ",
    )
    assert await service.update(rohan, same) is None
    assert state.requests_to("/user", "PUT") == []


async def test_updating_an_unknown_user_is_not_found(
    service: UsersService, state: SandboxState
) -> None:
    ghost = User(uuid="no-such-user", name="Ghost", country_code="91",
                 contact_number="9876500000", number_e164="+919876500000")
    with pytest.raises(NotFound):
        await service.update(ghost, replace(UserForm.from_user(ghost), name="Boo"))
    assert len(state.requests_to("/user", "PUT")) == 1


async def test_receives_calls_switch(service: UsersService, state: SandboxState) -> None:
    deepa = by_name(service, "Deepa Patel")
    assert deepa.receives_calls is False
    result = await service.apply_update(
        UserUpdate(uuid=deepa.uuid, receive_calls=True), before=service.get(deepa.uuid)
    )
    assert state.requests_to("/user", "PUT")[-1].params == {
        "uuid": deepa.uuid, "receive_calls": "1",
    }
    assert result.user is not None and result.user.receives_calls is True


async def test_a_basic_token_may_not_edit_and_then_edit_is_disabled(
    app: SandboxApp, store: UserStore
) -> None:
    async with make_client(app, BASIC_TOKEN) as basic:
        service = UsersService(basic, store)
        await service.refresh()
        deepa = by_name(service, "Deepa Patel")
        with pytest.raises(PermissionDenied):
            await service.apply_update(
                UserUpdate(uuid=deepa.uuid, receive_calls=True), before=service.get(deepa.uuid)
            )
        assert not service.permissions().may_edit
        assert service.permissions().edit_reason


async def test_a_failed_refresh_after_a_save_does_not_fail_the_save(
    service: UsersService, state: SandboxState
) -> None:
    state.faults.add("503:path=/user,method=GET")
    deepa = by_name(service, "Deepa Patel")
    result = await service.apply_update(
        UserUpdate(uuid=deepa.uuid, receive_calls=True), before=service.get(deepa.uuid)
    )
    assert isinstance(result.refresh_error, ServerError)
    assert state.find_user(deepa.uuid).receive_calls == 1  # type: ignore[union-attr]


# ------------------------------------------------------------------ unknown outcome


@pytest.mark.parametrize(
    ("after", "verdict"), [(True, Verdict.APPLIED), (False, Verdict.NOT_APPLIED)]
)
async def test_an_update_with_no_answer_is_rechecked_not_resent(
    service: UsersService, state: SandboxState, after: bool, verdict: Verdict
) -> None:
    state.faults.add(f"503:path=/user,method=PUT,count=1{',after=1' if after else ''}")
    rohan = by_name(service, "Rohan Verma")
    with pytest.raises(SaveOutcomeUnknown) as caught:
        await service.update(rohan, replace(UserForm.from_user(rohan), name="Rohan Two"))
    assert caught.value.change.params == {"uuid": rohan.uuid, "name": "Rohan Two"}
    check = await service.verify_after_unknown(caught.value.change)
    assert check.verdict is verdict, check.message
    assert len(state.requests_to("/user", "PUT")) == 1
    assert by_name(service, "Rohan Two" if after else "Rohan Verma")


@pytest.mark.parametrize(
    ("after", "verdict"), [(True, Verdict.APPLIED), (False, Verdict.NOT_APPLIED)]
)
async def test_an_add_with_no_answer_is_rechecked_not_resent(
    service: UsersService, state: SandboxState, after: bool, verdict: Verdict
) -> None:
    state.faults.add(f"drop:path=/user,method=POST,count=1{',after=1' if after else ''}")
    with pytest.raises(SaveOutcomeUnknown) as caught:
        await service.add(service.new_user(new_form()))
    check = await service.verify_after_unknown(caught.value.change)
    assert check.verdict is verdict, check.message
    assert (check.user is not None) == after
    assert len(state.requests_to("/user", "POST")) == 1


async def test_a_recheck_that_cannot_reach_the_server_is_unclear(
    service: UsersService, state: SandboxState
) -> None:
    state.faults.add("503:path=/user,method=PUT,count=1,after=1")
    rohan = by_name(service, "Rohan Verma")
    with pytest.raises(SaveOutcomeUnknown) as caught:
        await service.apply_update(
            UserUpdate(uuid=rohan.uuid, receive_calls=False), before=service.get(rohan.uuid)
        )
    state.faults.add("503:path=/user,method=GET")
    check = await service.verify_after_unknown(caught.value.change)
    assert check.verdict is Verdict.UNCLEAR and "Could not check" in check.message


async def test_a_partly_visible_change_is_unclear(
    service: UsersService, state: SandboxState
) -> None:
    state.faults.add("503:path=/user,method=PUT,count=1")
    rohan = by_name(service, "Rohan Verma")
    with pytest.raises(SaveOutcomeUnknown) as caught:
        await service.update(
            rohan, replace(UserForm.from_user(rohan), name="Rohan Two", receive_calls=False)
        )
    state.update_user({"uuid": rohan.uuid, "name": "Rohan Two"})  # someone else, meanwhile
    check = await service.verify_after_unknown(caught.value.change)
    assert check.verdict is Verdict.UNCLEAR


async def test_a_receives_calls_change_told_elsewhere_shows_without_a_request(
    service: UsersService, store: UserStore, state: SandboxState
) -> None:
    user = next(u for u in service.users() if u.receives_calls)
    requests = len(state.requests)
    heard: list[None] = []
    service.add_listener(lambda: heard.append(None))

    service.note_receives_calls(user.uuid, False)
    changed = service.get(user.uuid)
    assert changed == replace(user, receives_calls=False)
    assert store.get(user.uuid) == changed  # the cache agrees, for the next start
    assert len(heard) == 1
    service.note_receives_calls(user.uuid, False)  # nothing new: nobody hears of it
    service.note_receives_calls("no-such-user", True)
    assert len(heard) == 1
    assert len(state.requests) == requests

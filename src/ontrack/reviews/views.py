"""The review queue and a review's page; deciding is a supervisor's POST to the service."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ontrack.accounts.models import User
from ontrack.accounts.web import staff_user
from ontrack.participants.gate import participant_read, participants_listed
from ontrack.reviews import services
from ontrack.reviews.models import ReviewOrigin, SupervisionReview
from ontrack.reviews.queries import reviews_decided_for, reviews_pending_for, reviews_visible_to


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("step_down", "Approve the proposed step-down"), ("keep", "Keep the plan")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded with your name; the participant is told the outcome.",
    )


def _reader(request: HttpRequest) -> User:
    user = staff_user(request)
    if not user.reads_participants:
        raise PermissionDenied("Your role does not see supervision reviews.")
    return user


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    decided = request.GET.get("show") == "decided"
    reviews = reviews_decided_for(user) if decided else reviews_pending_for(user)
    origin = request.GET.get("origin", "")
    if origin in ReviewOrigin.values:
        reviews = reviews.filter(origin=origin)
    page = Paginator(reviews, settings.ONTRACK_PAGE_SIZE).get_page(request.GET.get("page"))
    participants_listed(request, (r.participant_id for r in page), what="supervision review queue")
    return render(
        request,
        "reviews/queue.html",
        {
            "page": page,
            "decided": decided,
            "origin": origin,
            "origins": ReviewOrigin.choices,
            "pending_count": reviews_pending_for(user).count(),
            "may_decide": services.may_decide(user),
        },
    )


def _review_for(user: User, review_id: int) -> SupervisionReview:
    review = reviews_visible_to(user).filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review among the cases you may see.")
    return review


@login_required
def detail(request: HttpRequest, review_id: int) -> HttpResponse:
    user = _reader(request)
    review = _review_for(user, review_id)
    participant_read(request, review.participant_id, what="supervision review")
    return render(
        request,
        "reviews/detail.html",
        {
            "review": review,
            "record": review.compliance,
            "form": DecisionForm(),
            "may_decide": services.may_decide(user) and review.outcome == "pending",
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, review_id: int) -> HttpResponse:
    user = _reader(request)
    review = _review_for(user, review_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.review_decide(
                user=user,
                review_id=review.pk,
                step_down=form.cleaned_data["decision"] == "step_down",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, "Decision recorded; the participant will be told.")
            return redirect("reviews:queue")
    return render(
        request,
        "reviews/detail.html",
        {"review": review, "record": review.compliance, "form": form, "may_decide": True},
        status=400,
    )

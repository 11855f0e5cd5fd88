from django.http import HttpResponse


def calendar(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def branch_day(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def pipeline(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def stage_move(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)

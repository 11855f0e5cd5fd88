from django.http import HttpResponse


def plan_list(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def plan_create(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def plan_detail(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def plan_end(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)


def plan_reassign(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse(status=501)
